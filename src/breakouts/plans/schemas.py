"""The shape of one planned breakout session in a request (createMeeting and PUT alike)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from breakouts.fields import Email
from breakouts.text import LINE_PATTERN


class BreakoutSessionInput(msgspec.Struct, rename="camel"):
    name: Annotated[str, Meta(min_length=1, max_length=255, pattern=LINE_PATTERN)]
    invitees: Annotated[list[Email], Meta(max_length=1000)] = []
