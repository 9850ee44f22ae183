"""API documentation (Swagger UI) served from the installed package, never from a CDN.

Swagger UI's files (5.x: it reads OpenAPI 3.1, which Litestar writes) come from the
``swagger-ui-py`` wheel, so a fresh ``pip install`` has them and no page pulls script from
another host. Only three of its static files are served; its Python code is not used.

The page's start-up code is a file of ours (not inline), so the page keeps the pages' strict
CSP: ``'self'`` only, no inline script or style (Swagger UI sets styles through the DOM, which
a CSP does not block; checked in Chromium with no violation). The schema it shows stays at
``/schema/openapi.json``.
"""

from __future__ import annotations

import importlib.resources
from functools import cache
from importlib.resources.abc import Traversable

from litestar import Response, Router, get
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

DOCS_PATH = "/api/docs"
SCHEMA_URL = "/schema/openapi.json"

#: As strict as the pages' own: Swagger UI fetches the schema from here ('self') and its SVG
#: icons are data: URIs; the page has no forms of its own.
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'; "
    "form-action 'none'"
)
_HEADERS = {
    "Content-Security-Policy": DOCS_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
#: The only files served from the bundle, and their types.
_FILES = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
_INIT_JS = f"""window.addEventListener("load", function () {{
  window.ui = SwaggerUIBundle({{
    url: "{SCHEMA_URL}",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  }});
}});
"""
_PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>samhjelp API</title>
<link rel="icon" type="image/png" href="{DOCS_PATH}/favicon-32x32.png">
<link rel="stylesheet" href="{DOCS_PATH}/swagger-ui.css">
</head>
<body>
<main id="swagger-ui"></main>
<script src="{DOCS_PATH}/swagger-ui-bundle.js"></script>
<script src="{DOCS_PATH}/init.js"></script>
</body>
</html>
"""


@cache
def _bundle_dir() -> Traversable:
    """Swagger UI's distribution files inside the ``swagger-ui-py`` wheel."""
    return importlib.resources.files("swagger_ui") / "static"


@cache
def _asset(name: str) -> bytes:
    return (_bundle_dir() / name).read_bytes()


@get("/", media_type="text/html; charset=utf-8")
async def docs_page() -> Response[str]:
    return Response(_PAGE, headers=_HEADERS)


@get("/init.js", media_type="text/javascript; charset=utf-8")
async def docs_init() -> Response[str]:
    return Response(_INIT_JS, headers=_HEADERS | {"Cache-Control": "no-cache"})


@get("/{name:str}")
async def docs_asset(name: str) -> Response[bytes]:
    media = _FILES.get(name)
    if media is None:
        return Response(b"not found", status_code=404, media_type="text/plain")
    return Response(
        _asset(name),
        media_type=media,
        headers=_HEADERS | {"Cache-Control": "public, max-age=86400"},
    )


def openapi_config() -> OpenAPIConfig:
    """The schema at ``/schema/openapi.json`` only: Litestar's own viewers load from CDNs."""
    return OpenAPIConfig(
        title="samhjelp",
        version="1",
        path="/schema",
        description=(
            "Anonymous interest in self-help groups, staff registration and after-course "
            "referrals. Errors are RFC 9457 problem details (application/problem+json). "
            f"Interactive documentation: {DOCS_PATH}. The current consent text and its "
            "version: GET /api/v1/consent."
        ),
        render_plugins=[JsonRenderPlugin()],
        components=Components(
            security_schemes={
                "bearer": SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="An API key (shk_…) as a bearer token: staff or referrer role.",
                ),
                "apiKey": SecurityScheme(
                    type="apiKey",
                    name="X-API-Key",
                    security_scheme_in="header",
                    description="The same API key in the X-API-Key header instead.",
                ),
            }
        ),
    )


def docs_router() -> Router:
    """The docs page and its files, left out of the schema they document."""
    return Router(
        path=DOCS_PATH, route_handlers=[docs_page, docs_init, docs_asset], include_in_schema=False
    )
