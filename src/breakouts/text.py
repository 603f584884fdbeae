"""Rules for free text that the service stores and later writes into email headers.

Kept below every domain package: the request schemas use the pattern, the HTTP layer turns a
failed match into words a person can act on.
"""

from __future__ import annotations

import re

# One line of text: no control characters (C0, DEL, C1) and no Unicode line or paragraph
# separators. Titles and names end up in email headers; a line break there would let a caller
# write headers of their own (issue #10). Upstream's behaviour is undocumented; refusing is the
# safe answer, and the JSON Schema in /openapi.json states it as this same pattern.
# ``$(?!\n)``: Python's ``$`` (msgspec uses ``re.search``) also matches before a final newline.
LINE_PATTERN = "^[^\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029]*$(?!\\n)"
LINE_RULE = "must be one line of text, without control characters or line breaks"

# An email address as the API takes it (``format: email`` plus this ``pattern`` in the document,
# checked by the decoder): an unquoted RFC 5322 local part (dot-separated atoms) @ a domain of
# two or more dot-separated labels (letters, digits, inner hyphens). Non-ASCII letters are allowed
# in both (RFC 6531: ``chloé@example.com``, as in the demo); whitespace, control and invisible
# format characters never are (addresses go into mail headers), nor quoted local parts or
# address literals. Written for Python's ``re`` and ECMA-262 alike (the document's dialect), as
# negated classes (cheap for generators); ``people.service.is_email`` uses it too.
_NOT_VISIBLE = (  # C0 and space, DEL to NBSP, Unicode spaces, format characters, specials
    "\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200f\\u2028-\\u202f"
    "\\u205f-\\u206f\\u3000\\ufeff\\ufff0-\\uffff"
)
_ATOM = f'[^{_NOT_VISIBLE}"(),.:;<>@\\[\\\\\\]]+'  # RFC 5322 specials are not atext
_LABEL_CHAR = f"[^{_NOT_VISIBLE}\\u0021-\\u002f\\u003a-\\u0040\\u005b-\\u0060\\u007b-\\u007e]"
_LABEL = f"{_LABEL_CHAR}(?:-*{_LABEL_CHAR})*"
EMAIL_PATTERN = f"^{_ATOM}(?:\\.{_ATOM})*@{_LABEL}(?:\\.{_LABEL})+$(?!\\n)"
EMAIL_RULE = (
    "must be an email address local@domain, without spaces, control characters, quotes or "
    "address literals"
)
_EMAIL_RE = re.compile(EMAIL_PATTERN)

_RULES = {LINE_PATTERN: LINE_RULE, EMAIL_PATTERN: EMAIL_RULE}


def is_email(value: str) -> bool:
    """An address as the API accepts it (``EMAIL_PATTERN``), at most 320 characters."""
    return len(value) <= 320 and _EMAIL_RE.search(value) is not None


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
