"""Breakout sessions of a meeting (SPEC §5), the project's centre."""
