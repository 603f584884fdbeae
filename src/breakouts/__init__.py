"""breakouts: the Webex Meetings REST API for meetings and breakout sessions, self-hosted."""

__version__ = "0.1.0"
