"""Settings of the composition root, read from the environment (prefix ``SAMHJELP_``).

Validated once at start-up: a production run refuses a missing or placeholder secret, so a
misconfigured replica fails fast instead of storing contact data under a throwaway key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from intake.crypto import parse_key

_PLACEHOLDERS = {"", "changeme", "change-me", "secret", "xxx", "todo"}


class OidcProviderSetting(BaseModel):
    """One identity provider of ``SAMHJELP_OIDC_PROVIDERS`` (a JSON list of these)."""

    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,29}$")
    name: str = Field(min_length=1, max_length=60)
    discovery_url: str
    client_id: str = Field(min_length=1)
    client_secret: SecretStr

    @field_validator("discovery_url")
    @classmethod
    def _discovery(cls, value: str) -> str:
        """https only (plain http for a provider on this machine: tests and trials)."""
        parts = urlsplit(value)
        local = parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1")
        if not (parts.scheme == "https" or local) or not parts.hostname:
            raise ValueError("discovery_url must be an https URL")
        return value


class Settings(BaseSettings):
    """Service-wide settings.

    ``database_url`` may also be given as plain ``DATABASE_URL`` (the usual name on platforms).
    """

    model_config = SettingsConfigDict(env_prefix="SAMHJELP_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    database_url: str | None = Field(
        default=None, validation_alias="DATABASE_URL", description="postgresql+asyncpg://…"
    )
    data_dir: Path = Path(".samhjelp")
    #: 32-byte AES key as base64 or hex. Development generates ``<data_dir>/contact.key``.
    contact_key: str | None = None
    #: Key for signing links in messages (facilitator accept/decline, participant confirm).
    link_secret: str | None = None
    #: A host name, not 127.0.0.1: WebAuthn refuses an IP address as relying party, so staff
    #: could never add a passkey (``localhost`` is also a secure context over plain http).
    public_base_url: str = "http://localhost:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    db_pool_size: int = Field(default=10, ge=1, le=200)
    #: Bounds on waiting for the database, so a hung server fails requests instead of holding
    #: them: opening a connection, one statement (server-side ``statement_timeout``, with the
    #: driver's ``command_timeout`` a little later as a backstop), waiting for a row lock, and
    #: waiting for a free pooled connection.
    db_connect_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    db_statement_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    db_lock_timeout_seconds: float = Field(default=10.0, gt=0, le=3600)
    db_pool_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    #: When set, ``/metrics`` answers only ``Authorization: Bearer <token>`` (401 otherwise).
    metrics_token: SecretStr | None = None
    #: Requests one client may POST per minute to the public API before 429.
    post_rate_per_minute: int = Field(default=30, ge=1)
    match_interval_minutes: int = Field(default=15, ge=1)
    scheduler_enabled: bool = True
    #: Life-cycle windows (defaults from DOMAIN.md and LINK practice; per deployment).
    facilitator_window_days: int = Field(default=3, ge=1, le=30)
    reply_window_hours: int = Field(default=72, ge=12, le=24 * 14)
    facilitated_meetings: int = Field(default=3, ge=1, le=8)
    erase_contacts_after_days: int = Field(default=30, ge=0, le=365)
    #: A waiting registration is kept this long after its last sign of life (sign-up, a change
    #: of choices, "keep me on the list", a return to the pool), then erased (outcome
    #: 'lapsed'); people with a contact are asked this many days before (intake.lapse).
    lapse_after_days: int = Field(default=365, ge=30, le=3650)
    lapse_notice_days: int = Field(default=30, ge=1, le=180)
    #: The national data controller (behandlingsansvarlig) and its privacy contact, named on
    #: the privacy page for organisations whose registry entry names none. Development falls
    #: back to a placeholder that says so; production refuses to start without both.
    controller_name: str | None = None
    controller_contact: str | None = None
    log_level: str = "INFO"
    #: Staff console sessions: signed out after this long without a request, and after this
    #: long whatever the activity (Normen's expectation for access to health data).
    staff_idle_minutes: int = Field(default=30, ge=5, le=24 * 60)
    staff_session_hours: int = Field(default=10, ge=1, le=72)
    #: How long a one-time sign-in link by e-mail works, and how many one address may ask for
    #: within that window.
    staff_link_minutes: int = Field(default=15, ge=2, le=24 * 60)
    staff_link_requests: int = Field(default=5, ge=1, le=100)
    #: The organisations' identity providers for the console's sign-in (and second factor):
    #: a JSON list of ``{"slug", "name", "discovery_url", "client_id", "client_secret"}``.
    oidc_providers: list[OidcProviderSetting] = Field(default_factory=list)

    @field_validator("oidc_providers")
    @classmethod
    def _unique_slugs(cls, value: list[OidcProviderSetting]) -> list[OidcProviderSetting]:
        slugs = [p.slug for p in value]
        if len(set(slugs)) != len(slugs):
            raise ValueError("SAMHJELP_OIDC_PROVIDERS: each provider needs its own slug")
        for p in value:
            if p.client_secret.get_secret_value().strip().lower() in _PLACEHOLDERS:
                raise ValueError(f"SAMHJELP_OIDC_PROVIDERS: {p.slug} needs a real client_secret")
        return value

    @field_validator("metrics_token", mode="before")
    @classmethod
    def _blank_token_is_none(cls, value: object) -> object:
        """An empty ``SAMHJELP_METRICS_TOKEN=`` (as compose passes an unset one) means no token,
        not a token that is the empty string."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str | None) -> str | None:
        """Accept the common ``postgres://`` and ``postgresql://`` forms and use asyncpg."""
        if value is None or value == "":
            return None
        for prefix in ("postgres://", "postgresql://", "postgresql+psycopg://"):
            if value.startswith(prefix):
                return "postgresql+asyncpg://" + value[len(prefix) :]
        if not value.startswith("postgresql+asyncpg://"):
            raise ValueError("DATABASE_URL must be a PostgreSQL URL (postgresql://…)")
        return value

    @model_validator(mode="after")
    def _production_secrets(self) -> Settings:
        if self.environment == "production":
            missing = [
                name
                for name in (
                    "database_url",
                    "contact_key",
                    "link_secret",
                    "controller_name",
                    "controller_contact",
                )
                if (getattr(self, name) or "").strip().lower() in _PLACEHOLDERS
            ]
            if missing:
                names = ", ".join(
                    "DATABASE_URL" if n == "database_url" else f"SAMHJELP_{n.upper()}"
                    for n in missing
                )
                raise ValueError(f"production needs real values for: {names}")
        if self.environment == "development":
            # A visible placeholder, so a trial never names a real body by mistake.
            self.controller_name = self.controller_name or "Samhjelp (development, not set)"
            self.controller_contact = self.controller_contact or "personvern@samhjelp.invalid"
        if self.lapse_notice_days >= self.lapse_after_days:
            raise ValueError(
                "SAMHJELP_LAPSE_NOTICE_DAYS must be shorter than SAMHJELP_LAPSE_AFTER_DAYS"
            )
        if self.contact_key:
            parse_key(self.contact_key)
        if (
            self.link_secret is not None
            and len(self.link_secret) < 32
            and (self.environment == "production")
        ):
            raise ValueError("SAMHJELP_LINK_SECRET must be at least 32 characters")
        return self
