"""Structured JSON logs (structlog), one line per event, to stderr."""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import msgspec
import structlog

_encoder = msgspec.json.Encoder()
Logger = Any  # structlog's filtering bound logger (a class made at run time)


def _serialize(obj: object, **_: object) -> str:
    return _encoder.encode(obj).decode()


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is now (servers and test runners may swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def make_logger(level: str = "info", json: bool = True, file: TextIO | None = None) -> Logger:
    """A logger of its own for one app, so two apps (or tests) never share level or output."""
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(serializer=_serialize)
        if json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    wrapper = structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()])
    logger: Logger = structlog.wrap_logger(
        structlog.PrintLogger(file or _CurrentStderr()),  # type: ignore[arg-type]
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=wrapper,
    )
    return logger
