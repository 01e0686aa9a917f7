"""Fake providers: real HTTP servers on 127.0.0.1 that check requests as the provider would.

Each provider module here defines a FakeProvider subclass and a ``CASE`` describing how to
point its channel at the fake; tests/channels/test_contract.py runs every CASE.
"""
