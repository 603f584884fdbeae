"""The outside services some tests need (PostgreSQL, Redis), named by ``BREAKOUTS_TEST_*_URL``.

Without the URL such a test skips, with one reason that says which variable to set; where a
missing service must not pass unnoticed (CI: ``.ci/run`` sets ``BREAKOUTS_REQUIRE_SERVICES=1``)
it fails instead.
"""

from __future__ import annotations

import os

import pytest


def service_url(variable: str, what: str) -> str:
    """The URL in ``variable``; skip (or fail, when services are required) without it."""
    url = os.environ.get(variable)
    if url:
        return url
    reason = f"set {variable} to run the {what} tests"
    if os.environ.get("BREAKOUTS_REQUIRE_SERVICES") == "1":
        pytest.fail(f"BREAKOUTS_REQUIRE_SERVICES=1 but {variable} is not set: {reason}")
    pytest.skip(reason)
