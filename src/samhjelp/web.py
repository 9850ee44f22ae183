"""The participant web pages layer (issue 5): route handlers, templates, CSRF, static files.

``create_app`` calls :func:`web_layer` once; everything the pages need is returned here so the
app factory stays one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from samhjelp.app import Services


@dataclass
class WebLayer:
    route_handlers: list[Any] = field(default_factory=list)
    template_config: Any = None
    csrf_config: Any = None
    middleware: list[Any] = field(default_factory=list)
    after_request: Any = None


def web_layer(services: Services) -> WebLayer:
    """No pages yet."""
    return WebLayer()
