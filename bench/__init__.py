"""Benchmark of DELETE /v1/meetings/{meetingId}/breakoutSessions on SQLite (``make bench``)."""
