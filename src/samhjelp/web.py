"""The participant web pages layer (issue 5): templates, CSRF and the page router.

``create_app`` calls :func:`web_layer` once; everything the pages need is returned here so the
app factory stays one place. The pages themselves live in :mod:`intake.web`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar.config.csrf import CSRFConfig
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig
from markupsafe import Markup

import intake.web
from intake.web.forms import ANCHORS
from intake.web.routes import page_router, static_url

if TYPE_CHECKING:
    from samhjelp.app import Services

TEMPLATES = Path(intake.web.__file__).parent / "templates"

#: Paths whose POSTs carry no CSRF cookie: the JSON API authenticates with keys, or not at all.
CSRF_EXEMPT = ["^/api/", "^/health", "^/metrics", "^/schema"]


@dataclass
class WebLayer:
    route_handlers: list[Any] = field(default_factory=list)
    template_config: Any = None
    csrf_config: Any = None
    middleware: list[Any] = field(default_factory=list)
    after_request: Any = None


def described(errors: dict[str, str], name: str, extra: str = "") -> Markup:
    """``aria-describedby``/``aria-invalid`` for a control: its hint plus its error, if any."""
    ids = [i for i in (extra, f"{name}-error" if errors.get(name) else "") if i]
    out = f' aria-describedby="{" ".join(ids)}"' if ids else ""
    if errors.get(name):
        out += ' aria-invalid="true"'
    return Markup(out)  # noqa: S704 - ids are our own field names, never user input


def anchor(name: str) -> str:
    return ANCHORS.get(name, name)


def template_environment() -> Environment:
    """Jinja with autoescaping and ``newstyle`` gettext (the page passes its own callables)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(static=static_url, described=described, anchor=anchor)
    return env


def csrf_secret(services: Services) -> str:
    """Derived from the link secret so every replica agrees; random (per process) in dev."""
    base = services.settings.link_secret or services.extra.get("link_secret")
    if not base:
        return secrets.token_urlsafe(32)
    return hmac.new(str(base).encode(), b"samhjelp csrf", hashlib.sha256).hexdigest()


def web_layer(services: Services) -> WebLayer:
    """Pages, their templates and CSRF protection for every form outside the JSON API."""
    return WebLayer(
        route_handlers=[page_router()],
        template_config=TemplateConfig(
            engine=JinjaTemplateEngine.from_environment(template_environment())
        ),
        csrf_config=CSRFConfig(
            secret=csrf_secret(services),
            cookie_name="csrftoken",
            cookie_httponly=True,
            cookie_samesite="lax",
            cookie_secure=services.settings.public_base_url.startswith("https://"),
            exclude=CSRF_EXEMPT,
        ),
    )
