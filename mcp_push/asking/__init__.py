"""Ask and answer: a question pushed to the person, answered from any two-way channel.

The ledger's asks row is the one-time answer store: every path (Telegram buttons, ntfy
actions, the answer page, the CLI) ends in ``Ledger.answer_ask``, whose conditional update
lets exactly one answer win. ``tokens`` signs what a button or link carries; ``answers``
checks a token and applies it; the listeners (in the worker) read the answers that arrive.
"""
