"""People and their access tokens."""
