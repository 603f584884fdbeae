"""One server process of ``breakouts serve --workers N`` (uvicorn's supervisor starts them).

The supervisor starts each process with ``spawn``: the process imports this module, builds its
app from the environment (``app_from_env``) and serves on the socket the supervisor bound.
"""

from __future__ import annotations

import gc

from starlette.applications import Starlette

from breakouts.app import create_app
from breakouts.config import Settings


def app_from_env() -> Starlette:
    """The app of one server process: its settings from the environment, as the parent's."""
    app = create_app(Settings())
    # Imported modules and the app live as long as the process: out of the collector's sight,
    # as in a single-process ``serve`` (cli._freeze_heap says why).
    gc.collect()
    gc.freeze()
    return app
