"""Meetings: series, their scheduled occurrences and their instances (SPEC §4)."""
