"""Breakout plans, below both domains: the breakout_sessions table, the plan rules, the input.

Meetings create, copy and cancel plans; the breakoutSessions resource reads, replaces and
deletes them. Both use this package, so neither domain imports the other's internals.
"""
