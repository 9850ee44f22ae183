"""The staff console's settings, built once by the composition root from the deployment's
settings (staff may not import ``samhjelp``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit


@dataclass(frozen=True)
class OidcProvider:
    """An organisation's identity provider (Entra ID, ID-porten, Google Workspace, …)."""

    slug: str  # in the callback URL: /ansatt/oidc/<slug>/callback
    name: str  # on the sign-in button
    discovery_url: str  # …/.well-known/openid-configuration
    client_id: str
    client_secret: str


@dataclass(frozen=True)
class StaffConfig:
    base_url: str
    idle_timeout: timedelta = timedelta(minutes=30)
    absolute_timeout: timedelta = timedelta(hours=10)
    link_ttl: timedelta = timedelta(minutes=15)
    #: One-time links one address may be sent within ``link_ttl``.
    link_requests: int = 5
    oidc_providers: tuple[OidcProvider, ...] = field(default_factory=tuple)

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def rp_id(self) -> str:
        """The WebAuthn relying party: the public host name."""
        return urlsplit(self.base_url).hostname or "localhost"

    @property
    def origin(self) -> str:
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"
