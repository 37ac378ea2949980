"""The Slack settings one run needs, checked for the chosen mode before anything starts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import SecretStr

from config.settings import Settings

Mode = Literal["socket", "http"]

# slack_sdk's default Web API address; SLACK_API_URL replaces it for tests and proxies.
DEFAULT_API_URL = "https://slack.com/api/"


class SlackConfigError(Exception):
    """The Slack settings do not allow the requested mode; the message names the variables."""


@dataclass(frozen=True)
class SlackConfig:
    """Tokens and addresses for the Slack adapter, as plain strings.

    One workspace runs with `bot_token`; several run with `client_id` and `client_secret`
    (the OAuth install flow), and then `bot_token` is ignored. `api_url` always ends in "/".
    """

    bot_token: str | None = None
    app_token: str | None = None
    signing_secret: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    port: int = 3000
    api_url: str = DEFAULT_API_URL

    @classmethod
    def from_settings(cls, settings: Settings) -> SlackConfig:
        api_url = settings.slack_api_url or DEFAULT_API_URL
        return cls(
            bot_token=_reveal(settings.slack_bot_token),
            app_token=_reveal(settings.slack_app_token),
            signing_secret=_reveal(settings.slack_signing_secret),
            client_id=settings.slack_client_id,
            client_secret=_reveal(settings.slack_client_secret),
            port=settings.slack_port,
            api_url=api_url if api_url.endswith("/") else api_url + "/",
        )

    @property
    def multi_workspace(self) -> bool:
        """True when the OAuth install flow is configured, so tokens come from installations."""
        return self.client_id is not None and self.client_secret is not None

    def check(self, mode: Mode) -> None:
        """Raise SlackConfigError naming every variable that `mode` needs and lacks."""
        missing: list[str] = []
        if not self.multi_workspace and self.bot_token is None:
            missing.append("SLACK_BOT_TOKEN (or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET)")
        if mode == "socket" and self.app_token is None:
            missing.append("SLACK_APP_TOKEN (an xapp- app-level token with connections:write)")
        # Socket Mode requests arrive over the app's own WebSocket and carry no signature.
        if mode == "http" and self.signing_secret is None:
            missing.append("SLACK_SIGNING_SECRET")
        if missing:
            raise SlackConfigError(f"parley slack ({mode} mode) needs: " + "; ".join(missing))


def _reveal(value: SecretStr | None) -> str | None:
    return None if value is None else value.get_secret_value()
