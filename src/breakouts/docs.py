"""/docs (Swagger UI, served from the installed bundle so it works offline) and /openapi.json."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from breakouts.control.openapi import TAG, TAG_TEXT, control_document
from breakouts.openapi import build_openapi

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>breakouts — API docs</title>
<link rel="stylesheet" href="/docs/static/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/static/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui",
  persistAuthorization: true, deepLinking: true});
</script></body></html>"""


def docs_routes(*, control: bool = False) -> list[Route | Mount]:
    """/docs and /openapi.json; with ``control``, the control plane is documented too."""
    spec = build_openapi()
    if control:
        paths, schemas, scheme = control_document()
        spec["paths"].update(paths)
        spec["components"]["schemas"].update(schemas)
        spec["components"]["securitySchemes"]["operator"] = scheme
        spec["tags"] = [*spec.get("tags", []), {"name": TAG, "description": TAG_TEXT}]
    document = msgspec.json.encode(spec)

    async def openapi_json(request: Request) -> Response:
        return Response(document, media_type="application/json")

    async def docs(request: Request) -> Response:
        return HTMLResponse(_PAGE)

    return [
        Route("/openapi.json", openapi_json, methods=["GET"]),
        Route("/docs", docs, methods=["GET"]),
        Mount("/docs/static", StaticFiles(directory=swagger_ui_path), name="swagger"),
    ]
