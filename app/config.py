"""Settings, read from the environment (prefix ``NEWSDESK_``) and from ``.env``."""

from functools import lru_cache
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./newsdesk.db"
# Seconds before each retry of a webhook delivery: the first within 10 s, then growing.
DEFAULT_RETRY_DELAYS = (5, 30, 120, 600, 1800, 3600, 7200, 14400)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="NEWSDESK_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="sqlite:///path or postgresql://user@host/db; the async driver is picked here.",
    )
    admin_key: SecretStr | None = Field(
        None, description="If set, an admin key with this secret exists from start-up on."
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
    log_level: str = Field("info", description="debug, info, warning or error.")
    response_cache_bytes: int = Field(
        32 * 1024 * 1024,
        ge=0,
        description="Memory each worker may use to keep anonymous responses; 0 turns it off.",
    )
    db_pool_size: int = Field(10, ge=1, description="Connections each worker keeps open.")
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

    @field_validator("cors_origins", "allowed_hosts", mode="before")
    @classmethod
    def split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
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
