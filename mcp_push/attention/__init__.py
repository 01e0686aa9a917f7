"""Attention: which channels a notification goes to, and when.

The rules a person states in one line each (docs/attention.md): routes per kind
(``MCP_PUSH_ROUTE_<KIND>``), quiet hours with a bypass (``MCP_PUSH_QUIET``), a digest of a run's
progress (``MCP_PUSH_DIGEST_SECONDS``), a delay that drops a Stop push when the person is back
(``MCP_PUSH_STOP_DELAY``), only long turns (``MCP_PUSH_MIN_TURN_SECONDS``) and escalation of
unanswered asks (``MCP_PUSH_ASK_ESCALATE``).

Every rule is applied in the ledger, so it holds across processes and hosts: a producer writes a
held delivery (``storage.base.Hold``) with its release time; the maintenance loop of any worker
releases, folds or drops it (``release``); an answer drops an ask's later tiers in the same
transaction. ``rules`` parses and checks the variables; ``plan`` decides for one notification
(a pure function of the rules, the kind and the clock).
"""
