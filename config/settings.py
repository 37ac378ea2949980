"""Parley's settings: one typed object read from the environment at start and passed in."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_VARIABLES = frozenset(
    {
        "DEEPL_AUTH_KEY",
        "OPENAI_API_KEY",
        "LIBRETRANSLATE_API_KEY",
        "DISCORD_TOKEN",
        "SLACK_BOT_TOKEN",
        "SLACK_APP_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_CLIENT_SECRET",
    }
)
ENGINE_NAMES = ("apertium", "deepl", "openai", "libretranslate")


class SettingsError(Exception):
    """The environment contains a missing or invalid setting. The message names the variable."""


class Settings(BaseSettings):
    """Every knob Parley reads from the environment. Each field is documented in the README."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    redis_url: str | None = Field(default=None, alias="REDIS_URL")
    key_prefix: str = Field(
        default="parley", alias="PARLEY_KEY_PREFIX", pattern=r"^[A-Za-z0-9_.-]+$"
    )
    queue_name: str = Field(default="parley", alias="PARLEY_QUEUE", pattern=r"^[A-Za-z0-9_.-]+$")
    apertium_url: str | None = Field(default=None, alias="APERTIUM_URL")
    engines: str = Field(default="apertium", alias="PARLEY_ENGINES")
    deepl_auth_key: SecretStr | None = Field(default=None, alias="DEEPL_AUTH_KEY")
    deepl_server_url: str | None = Field(default=None, alias="DEEPL_SERVER_URL")
    openai_api_key: SecretStr | None = Field(default=None, alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(default=None, alias="OPENAI_BASE_URL")
    openai_model: str = Field(default="gpt-4o-mini", alias="OPENAI_MODEL", min_length=1)
    libretranslate_url: str | None = Field(default=None, alias="LIBRETRANSLATE_URL")
    libretranslate_api_key: SecretStr | None = Field(default=None, alias="LIBRETRANSLATE_API_KEY")
    engine_timeout_s: float = Field(default=10.0, alias="PARLEY_ENGINE_TIMEOUT", gt=0, le=120)
    cache_ttl_s: int = Field(default=7 * 24 * 3600, alias="PARLEY_CACHE_TTL", ge=60)
    message_ttl_s: int = Field(default=7 * 24 * 3600, alias="PARLEY_MESSAGE_TTL", ge=60)
    event_ttl_s: int = Field(default=24 * 3600, alias="PARLEY_EVENT_TTL", ge=60)
    job_timeout_s: int = Field(default=60, alias="PARLEY_JOB_TIMEOUT", ge=5, le=3600)
    discord_token: SecretStr | None = Field(default=None, alias="DISCORD_TOKEN")
    discord_shard_count: int | None = Field(default=None, alias="DISCORD_SHARD_COUNT", ge=1)
    discord_shard_ids: str | None = Field(
        default=None, alias="DISCORD_SHARD_IDS", pattern=r"^\d+(,\d+)*$"
    )
    slack_bot_token: SecretStr | None = Field(default=None, alias="SLACK_BOT_TOKEN")
    slack_app_token: SecretStr | None = Field(default=None, alias="SLACK_APP_TOKEN")
    slack_signing_secret: SecretStr | None = Field(default=None, alias="SLACK_SIGNING_SECRET")
    slack_client_id: str | None = Field(default=None, alias="SLACK_CLIENT_ID")
    slack_client_secret: SecretStr | None = Field(default=None, alias="SLACK_CLIENT_SECRET")
    slack_port: int = Field(default=3000, alias="SLACK_PORT", ge=1, le=65535)
    slack_api_url: str | None = Field(default=None, alias="SLACK_API_URL")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="WARNING", alias="PARLEY_LOG_LEVEL"
    )

    @field_validator(
        "redis_url",
        "apertium_url",
        "deepl_server_url",
        "openai_base_url",
        "libretranslate_url",
        "deepl_auth_key",
        "openai_api_key",
        "libretranslate_api_key",
        "discord_token",
        "discord_shard_count",
        "discord_shard_ids",
        "slack_bot_token",
        "slack_app_token",
        "slack_signing_secret",
        "slack_client_id",
        "slack_client_secret",
        "slack_api_url",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # docker-compose passes unset variables as empty strings.
        return None if isinstance(value, str) and value.strip() == "" else value

    @field_validator(
        "redis_url",
        "apertium_url",
        "deepl_server_url",
        "openai_base_url",
        "libretranslate_url",
        "slack_api_url",
    )
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not re.match(r"^(redis|rediss|unix|http|https)://", value):
            raise ValueError("expected a URL such as redis://127.0.0.1:6379/0 or http://host:port")
        return value

    @field_validator("engines")
    @classmethod
    def _check_engines(cls, value: str) -> str:
        names = [name for name in value.replace(",", " ").split() if name]
        if not names:
            raise ValueError("expected at least one engine, e.g. apertium or deepl,apertium")
        unknown = [name for name in names if name not in ENGINE_NAMES]
        if unknown:
            raise ValueError(f"unknown engine {unknown[0]!r}; known: {', '.join(ENGINE_NAMES)}")
        return ",".join(names)

    def engine_chain(self) -> tuple[str, ...]:
        """Return the default engine chain: primary first, then fallbacks."""
        return tuple(self.engines.split(","))

    def configured_engines(self) -> tuple[str, ...]:
        """Return the engines whose settings are present; Apertium needs none."""
        configured = ["apertium"]
        if self.deepl_auth_key is not None:
            configured.append("deepl")
        # Local OpenAI-compatible servers (Ollama, llama.cpp) often need no key.
        if self.openai_api_key is not None or self.openai_base_url is not None:
            configured.append("openai")
        if self.libretranslate_url is not None:
            configured.append("libretranslate")
        return tuple(configured)

    @model_validator(mode="after")
    def _check_chain_configured(self) -> Settings:
        missing = [name for name in self.engine_chain() if name not in self.configured_engines()]
        if missing:
            needs = {
                "deepl": "DEEPL_AUTH_KEY",
                "openai": "OPENAI_API_KEY or OPENAI_BASE_URL",
                "libretranslate": "LIBRETRANSLATE_URL",
            }
            raise ValueError(f"PARLEY_ENGINES names {missing[0]}, which needs {needs[missing[0]]}")
        return self

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment; raises SettingsError naming each bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        problems = []
        for item in error.errors():
            if not item["loc"]:
                problems.append(item["msg"].removeprefix("Value error, "))
                continue
            variable = _variable_for(str(item["loc"][0]))
            shown = "***" if variable in SECRET_VARIABLES else repr(item.get("input"))
            problems.append(f"{variable}: {item['msg']} (got {shown})")
        raise SettingsError("invalid settings: " + "; ".join(problems)) from None


def _variable_for(field: str) -> str:
    info = Settings.model_fields.get(field)
    if info is not None and info.alias:
        return info.alias
    return field.upper()
