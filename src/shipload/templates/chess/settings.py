"""Settings of the chess source: `[sources.chess]` in .shipload/config.toml, or SOURCES__CHESS__* env vars."""

from __future__ import annotations

import dataclasses
from urllib.parse import urlsplit

from shipload.config.resolve import resolve_spec
from shipload.config.specs import BaseSpec

OFFICIAL_API_URL = "https://api.chess.com/pub/"
UNOFFICIAL_API_URL = "https://www.chess.com/callback/"
#: the value init writes; it is replaced by shipload's own User-Agent until you fill it in
USER_AGENT_PLACEHOLDER = "<configure me>"
USER_AGENT_HINT = (
    "chess.com refuses requests whose User-Agent has no contact details; set user_agent under "
    "[sources.chess] in .shipload/config.toml (or the env variable SOURCES__CHESS__USER_AGENT), e.g. "
    "user_agent = \"my-pipeline/1.0 (username: <your chess.com name>; contact: <your email>)\""
)


@dataclasses.dataclass(repr=False)
class ChessApiSettings(BaseSpec):
    #: sent with every request; chess.com wants contact details (email and/or chess.com username)
    user_agent: str | None = None
    #: the public API (profiles, archives, games); point it at a local server for tests
    base_url: str = OFFICIAL_API_URL
    #: the unofficial endpoint of online status; by default next to a non-default base_url
    online_status_url: str | None = None
    #: seconds to wait for one response
    timeout: float = 30.0
    #: tries per request on 429, 5xx and connection errors
    max_attempts: int = 5
    #: first backoff in seconds (doubled on every retry)
    backoff_factor: float = 1.0
    #: parallel requests; chess.com answers 429 to too many
    max_parallel: int = 2

    @property
    def contact_user_agent(self) -> str | None:
        ua = (self.user_agent or "").strip()
        return None if not ua or USER_AGENT_PLACEHOLDER in ua else ua

    @property
    def status_url(self) -> str:
        if self.online_status_url:
            return self.online_status_url
        if self.base_url.rstrip("/") == OFFICIAL_API_URL.rstrip("/"):
            return UNOFFICIAL_API_URL
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}/callback/"


def resolve_settings(explicit: ChessApiSettings | dict | None = None) -> ChessApiSettings:
    return resolve_spec(ChessApiSettings, ("sources", "chess"), explicit=explicit)
