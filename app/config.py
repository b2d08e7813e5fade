"""Settings, read from the environment (prefix ``NEWSDESK_``) and from ``.env``."""

from functools import lru_cache
from string import Formatter
from typing import Annotated
from urllib.parse import urlsplit

from limits import parse
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./newsdesk.db"
URL_PLACEHOLDERS = frozenset({"slug", "id", "section", "yyyy", "mm", "dd"})
# Long enough that guessing is hopeless even at the rate failed attempts are allowed. A
# shorter bootstrap key is warned about at start-up rather than refused: refusing would take
# a running deployment down on upgrade, and failed attempts are rate-limited either way.
ADMIN_KEY_MIN_LENGTH = 32

# Seconds before each retry of a webhook delivery: the first within 10 s, then growing.
DEFAULT_RETRY_DELAYS = (5, 30, 120, 600, 1800, 3600, 7200, 14400)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="NEWSDESK_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        # A refused setting is reported without its value: it may be a secret.
        hide_input_in_errors=True,
    )

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="sqlite:///path or postgresql://user@host/db; the async driver is picked here.",
    )
    admin_key: SecretStr | None = Field(
        None,
        description="If set, an admin key with this secret exists from start-up on; at least "
        f"{ADMIN_KEY_MIN_LENGTH} characters.",
    )
    max_body_bytes: int = Field(1_048_576, ge=0, description="Largest accepted request body.")
    cache_max_age: int = Field(60, ge=0, description="max-age of anonymous read responses.")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated origins allowed by CORS, or *."
    )
    public_url: str | None = Field(
        None,
        description="The address readers reach the service at (https://api.example.com): "
        "every absolute URL the service writes starts with it, whatever Host a request names.",
    )
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["*"],
        description="Comma-separated host names requests may name in Host (*.example.com "
        "matches its subdomains); * for any. Others get a 400.",
    )
    article_url_template: str | None = Field(
        None,
        description="The address of an article's page on the site, e.g. "
        "https://www.example.com/{section}/{yyyy}/{mm}/{slug}; placeholders {slug} {id} "
        "{section} {yyyy} {mm} {dd} (the date of published_at in UTC). Gives every article "
        "without a canonical_url its url.",
    )
    publication_name: str = Field(
        "Newsdesk",
        min_length=1,
        max_length=200,
        description="The publication's name in the news sitemap, and the JSON-LD publisher "
        "of articles without a source.",
    )
    sitemap_max_urls: int = Field(
        50_000,
        ge=1,
        le=50_000,
        description="URLs in one sitemap file before a month is split (the protocol's "
        "limit is 50,000).",
    )
    log_level: str = Field("info", description="debug, info, warning or error.")
    response_cache_bytes: int = Field(
        16 * 1024 * 1024,
        ge=0,
        description="Memory each worker may use to keep anonymous responses; 0 turns it off.",
    )
    db_pool_size: int = Field(
        10, ge=1, description="Connections each worker keeps open, and the most it uses at once."
    )
    db_pool_timeout: float = Field(
        10,
        gt=0,
        description="Seconds a request waits for a free connection before it is a 503.",
    )
    redis_url: str | None = Field(
        None,
        description="redis://host:port/db shared by every worker and machine for the rate "
        "limits; unset: each worker counts in its own memory.",
    )
    auth_failure_limit: str = Field(
        "100/minute",
        description="Failed authentications allowed per client address (one limit in `limits` "
        "notation, such as 100/minute); empty turns the limit off.",
    )
    key_rate_limit: str = Field(
        "",
        description="Requests allowed per API key (limits notation, such as 6000/minute); "
        "empty, the default, sets no budget.",
    )
    forwarded_allow_ips: str = Field(
        "",
        description="Comma-separated proxy addresses trusted to report the client address in "
        "X-Forwarded-For (used by `newsdesk serve`); empty trusts none.",
    )
    shutdown_grace_seconds: int = Field(
        20,
        ge=1,
        description="On SIGTERM, how long requests under way may take to finish before the "
        "worker exits anyway (used by `newsdesk serve`).",
    )
    workers: int = Field(
        1, ge=1, description="Worker processes of `newsdesk serve` when --workers is not given."
    )
    webhook_sender: bool = Field(
        True,
        description="Send webhook deliveries from `newsdesk serve`; turn off where "
        "`newsdesk worker` sends them instead.",
    )
    webhook_allow_private: bool = Field(
        False, description="Allow webhook URLs on loopback, private and link-local addresses."
    )
    webhook_timeout: float = Field(
        10.0, gt=0, description="Seconds a receiver has to answer one delivery attempt."
    )
    webhook_retry_delays: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [float(delay) for delay in DEFAULT_RETRY_DELAYS],
        description="Comma-separated seconds between a failed attempt and the next; the "
        "last delay repeats.",
    )
    webhook_retry_for: float = Field(
        86400.0, gt=0, description="Seconds after which an undelivered message is `failed`."
    )
    webhook_poll_interval: float = Field(
        1.0, gt=0, description="Seconds between looks for due deliveries made elsewhere."
    )
    webhook_concurrency: int = Field(
        10, ge=1, description="Deliveries each sender has in flight at once."
    )

    @field_validator("public_url")
    @classmethod
    def origin_only(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("must be an http(s) URL such as https://api.example.com")
        if parts.path not in {"", "/"} or parts.query or parts.fragment:
            raise ValueError("must be a scheme and host (and port) only, without a path")
        _ = parts.port  # raises ValueError for a port out of range
        return f"{parts.scheme}://{parts.netloc.lower()}"

    @field_validator("article_url_template")
    @classmethod
    def known_placeholders(cls, value: str | None) -> str | None:
        if not value:
            return None
        try:
            names = {name for _, name, _, _ in Formatter().parse(value) if name is not None}
        except ValueError as exc:
            raise ValueError(f"is not a valid template: {exc}") from exc
        unknown = names - URL_PLACEHOLDERS
        if unknown:
            known = ", ".join(sorted(URL_PLACEHOLDERS))
            raise ValueError(f"unknown placeholder {sorted(unknown)[0]!r}; use {known}")
        if urlsplit(value).scheme not in {"http", "https"}:
            raise ValueError("must be an absolute http(s) URL")
        return value

    @field_validator("cors_origins", "allowed_hosts", mode="before")
    @classmethod
    def split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("admin_key")
    @classmethod
    def blank_admin_key_is_unset(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        return value

    @property
    def admin_key_is_short(self) -> bool:
        return self.admin_key is not None and (
            len(self.admin_key.get_secret_value()) < ADMIN_KEY_MIN_LENGTH
        )

    @field_validator("auth_failure_limit", "key_rate_limit")
    @classmethod
    def known_limit(cls, value: str) -> str:
        value = value.strip()
        if value:
            try:
                parse(value)
            except ValueError as exc:
                raise ValueError("must be like 100/minute or 10 per second") from exc
        return value

    @field_validator("webhook_retry_delays", mode="before")
    @classmethod
    def split_delays(cls, value: object) -> object:
        if isinstance(value, str):
            return [float(delay) for delay in value.split(",") if delay.strip()]
        return value

    @field_validator("webhook_retry_delays")
    @classmethod
    def usable_delays(cls, value: list[float]) -> list[float]:
        if not value or any(delay < 0 for delay in value):
            raise ValueError("give at least one delay, none negative")
        return value

    @field_validator("allowed_hosts")
    @classmethod
    def lower_hosts(cls, value: list[str]) -> list[str]:
        return [host.lower() for host in value]

    @field_validator("log_level")
    @classmethod
    def known_level(cls, value: str) -> str:
        level = value.lower()
        if level not in {"debug", "info", "warning", "error", "critical"}:
            raise ValueError("must be one of debug, info, warning, error, critical")
        return level


@lru_cache
def get_settings() -> Settings:
    return Settings()
