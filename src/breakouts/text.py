"""Rules for free text that the service stores and later writes into email headers.

Kept below every domain package: the request schemas use the pattern, the HTTP layer turns a
failed match into words a person can act on.
"""

from __future__ import annotations

# One line of text: no control characters (C0, DEL, C1) and no Unicode line or paragraph
# separators. Titles and names end up in email headers; a line break there would let a caller
# write headers of their own (issue #10). Upstream's behaviour is undocumented; refusing is the
# safe answer, and the JSON Schema in /openapi.json states it as this same pattern.
LINE_PATTERN = "^[^\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029]*$"
LINE_RULE = "must be one line of text, without control characters or line breaks"

_RULES = {LINE_PATTERN: LINE_RULE}


def pattern_rule(pattern: str) -> str | None:
    """The words for a known pattern (None for one without words)."""
    return _RULES.get(pattern)


def whole_number(text: str | None, max_digits: int = 18) -> int | None:
    """``text`` as a non-negative int if it is 1 to ``max_digits`` ASCII digits, else None.

    ``str.isdigit`` alone is not enough: it accepts '²' (which ``int`` refuses) and numbers too
    large for a database integer.
    """
    if text is None or not 0 < len(text) <= max_digits or not text.isascii() or not text.isdigit():
        return None
    return int(text)
