"""The web pages layer: templates, CSRF, the page router and the headers of every page.

``create_app`` calls :func:`web_layer` once; everything the pages need is returned here so the
app factory stays one place. The pages themselves live in :mod:`intake.web`; other packages'
pages (the facilitator link pages ``/s/…``) get the same security headers and the same HTML
CSRF failure page through the app-wide hooks built here.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import Request, Response
from litestar.config.csrf import CSRFConfig
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.datastructures import MutableScopeHeaders
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.plugins.prometheus import PrometheusConfig, PrometheusMiddleware
from litestar.template.config import TemplateConfig
from litestar.types import Message, Receive, Scope, Send

import intake.web
from intake.registry import Controller
from intake.web.forms import anchor, described
from intake.web.pages import error_page
from intake.web.privacy import PrivacyTerms
from intake.web.routes import SECURITY_HEADERS, page_router, static_url
from samhjelp.problems import handle_http

if TYPE_CHECKING:
    from samhjelp.services import Services

TEMPLATES = Path(intake.web.__file__).parent / "templates"

#: Paths whose POSTs carry no CSRF cookie: the JSON API authenticates with keys, or not at all.
CSRF_EXEMPT = ["^/api/", "^/health", "^/metrics", "^/schema"]
#: Two years, subdomains included: the policy browsers' preload lists expect.
HSTS = "max-age=63072000; includeSubDomains"
_SECURE = re.compile(r";\s*secure\s*(;|$)", re.IGNORECASE)


@dataclass
class WebLayer:
    route_handlers: list[Any] = field(default_factory=list)
    template_config: Any = None
    csrf_config: Any = None
    middleware: list[Any] = field(default_factory=list)
    after_request: Any = None
    #: App-wide ``before_send`` hooks: they see every response, error pages included.
    before_send: list[Any] = field(default_factory=list)
    #: App-wide exception handlers that take precedence over the API's problem+json ones.
    exception_handlers: dict[Any, Any] = field(default_factory=dict)


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


def operated_environment(services: Services) -> Environment:
    """The templates, with who runs the service (the national controller in the settings) as a
    global: every page's footer names it and how to reach it."""
    env = template_environment()
    env.globals["operator"] = privacy_terms(services).national
    return env


def csrf_secret(services: Services) -> str:
    """Derived from the link secret so every replica agrees (a test's services may have a
    random per-process one)."""
    base = services.lifecycle.link_secret
    return hmac.new(base.encode(), b"samhjelp csrf", hashlib.sha256).hexdigest()


def headers_hook(*, https: bool) -> Any:
    """A ``before_send`` hook giving every HTML response the pages' security headers.

    It runs on the ASGI messages themselves, so it also covers responses made by exception
    handlers and by other packages' pages, which a router's ``after_request`` never sees. With
    an https public URL every response gets HSTS and every cookie is marked ``Secure``.
    """

    async def add_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        if not https and not any(
            name.lower() == b"content-type" and value.startswith(b"text/html")
            for name, value in message.get("headers", ())
        ):
            return  # not a page: nothing to add (a JSON answer costs no header parsing)
        headers = MutableScopeHeaders.from_message(message)
        if headers.get("content-type", "").startswith("text/html"):
            for key, value in SECURITY_HEADERS.items():
                if key not in headers:
                    headers[key] = value
        if https:
            headers["Strict-Transport-Security"] = HSTS
            cookies = headers.getall("set-cookie", [])
            if not all(_SECURE.search(c) for c in cookies):
                del headers["set-cookie"]
                for c in cookies:
                    headers.add("set-cookie", c if _SECURE.search(c) else c + "; Secure")

    return add_headers


def _wants_html(request: Request[Any, Any, Any]) -> bool:
    """A browser's page or form request, not an API client (the API is exempt from CSRF)."""
    if request.url.path.startswith("/api/"):
        return False
    kind = request.headers.get("content-type", "")
    return "text/html" in request.headers.get("accept", "") or kind.startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    )


def permission_denied(
    request: Request[Any, Any, Any], exc: PermissionDeniedException
) -> Response[Any]:
    """A failed CSRF check in a browser is a page in the person's language, never raw JSON.

    The participant router has its own handler; this one covers every other page (the link
    pages ``/s/…``). API clients keep their problem+json.
    """
    if _wants_html(request):
        return error_page(request, 403)
    return handle_http(request, exc)


def _wants_page(request: Request[Any, Any, Any]) -> bool:
    """A browser asking for a page: HTML accepted, not an API path, JSON not preferred."""
    if request.url.path.startswith("/api/"):
        return False
    accept = request.headers.get("accept", "")
    return "text/html" in accept and not accept.lstrip().startswith("application/json")


def not_found(request: Request[Any, Any, Any], exc: NotFoundException) -> Response[Any]:
    """A mistyped address in a browser is a page in the person's language, with the site's
    navigation; API clients (``/api/…`` or ``Accept: application/json``) keep problem+json."""
    if _wants_page(request):
        return error_page(request, 404)
    return handle_http(request, exc)


def privacy_terms(services: Services) -> PrivacyTerms:
    """What the pages state about controllers and retention, from the deployment's settings."""
    settings = services.settings
    return PrivacyTerms(
        national=Controller(
            name=settings.controller_name or "", contact=settings.controller_contact or ""
        ),
        erase_after_days=services.lifecycle.config.erase_after.days,
        message_retention_days=services.notify.retention_days,
    )


def web_layer(services: Services) -> WebLayer:
    """Pages, their templates and CSRF protection for every form outside the JSON API."""
    https = services.settings.public_base_url.startswith("https://")
    return WebLayer(
        route_handlers=[page_router(privacy_terms(services))],
        template_config=TemplateConfig(
            engine=JinjaTemplateEngine.from_environment(operated_environment(services))
        ),
        csrf_config=CSRFConfig(
            secret=csrf_secret(services),
            cookie_name="csrftoken",
            cookie_httponly=True,
            cookie_samesite="lax",
            cookie_secure=https,
            exclude=CSRF_EXEMPT,
        ),
        before_send=[headers_hook(https=https)],
        exception_handlers={
            PermissionDeniedException: permission_denied,
            NotFoundException: not_found,
        },
    )


class RequestMetrics(PrometheusMiddleware):
    """Litestar's request metrics, the same names, labels and values, at a fraction of the cost.

    Litestar's middleware builds a ``Request``, two label dicts and looks each metric's child
    up by its label values (a lock and a dict per metric) on every request: ~0.1 ms, a tenth
    of a registration (issue 12). This one keeps the children per route and status, so a
    request costs two dict lookups, a clock reading and the counters themselves. Extra labels,
    exemplars and excluded methods are not supported (``metrics_config`` uses none).
    """

    def __init__(self, app: Any, config: PrometheusConfig) -> None:
        super().__init__(app, config)
        if config.labels or config.exemplars or config.excluded_http_methods:
            raise ValueError("RequestMetrics supports no extra labels, exemplars or exclusions")
        self._running: dict[tuple[str, str], Any] = {}
        self._done: dict[tuple[str, str, int], tuple[Any, Any, Any]] = {}

    def _children(self, method: str, path: str, status: int) -> tuple[Any, Any, Any]:
        labels: dict[str, str | int | float] = {
            "method": method, "path": path, "status_code": status,
            "app_name": self._config.app_name,
        }  # fmt: skip
        values = list(labels.values())
        error = self.requests_error_count(labels).labels(*values) if status >= 500 else None
        children = (
            self.request_count(labels).labels(*values),
            self.request_time(labels).labels(*values),
            error,
        )
        self._done[(method, path, status)] = children
        return children

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        asgi: Any = scope  # an HTTP or a websocket scope
        method = asgi["method"] if asgi["type"] == "http" else asgi["type"]
        path = asgi["path_template"] if self._config.group_path else asgi["path"]
        running = self._running.get((method, path))
        if running is None:
            labels: dict[str, str | int | float] = {
                "method": method, "path": path, "status_code": 200,
                "app_name": self._config.app_name,
            }  # fmt: skip
            running = self.requests_in_progress(labels).labels(*labels.values())
            self._running[(method, path)] = running
        started = time.perf_counter()
        span = [200, 0.0]  # status, duration (set when the body goes out, as Litestar does)

        async def measured(message: Message) -> None:
            if message["type"] == "http.response.start":
                span[0] = message["status"]
            elif message["type"] == "http.response.body":
                span[1] = time.perf_counter() - started
            await send(message)

        running.inc()
        try:
            await self.app(scope, receive, measured)
        finally:
            running.dec()
            status = int(span[0])
            count, duration, error = self._done.get((method, path, status)) or self._children(
                method, path, status
            )
            if error is not None:
                error.inc()
            count.inc()
            duration.observe(span[1])


def metrics_config() -> PrometheusConfig:
    """Request metrics for every route but ``/metrics`` itself, by route template."""
    return PrometheusConfig(
        app_name="samhjelp",
        group_path=True,
        exclude=["/metrics"],
        middleware_class=RequestMetrics,
    )
