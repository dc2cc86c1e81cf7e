"""A source loading player profiles, game archives, games and online status from the chess.com API."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import shipload
from shipload.exceptions import TerminalError
from shipload.helpers.http import HttpClient

from . import helpers
from .helpers import (
    archive_key,
    archive_month,
    in_range,
    make_client,
    month_closed,
    months_ago,
    unix_to_datetime,
    validate_range,
)
from .settings import ChessApiSettings, resolve_settings

__all__ = ["ChessApiSettings", "months_ago", "source"]

PROFILE_TIMESTAMPS = ("joined", "last_online")
GAME_TIMESTAMPS = ("end_time", "start_time")


@shipload.source(name="chess")
def source(
    players: Sequence[str],
    start_month: str | None = None,
    end_month: str | None = None,
    settings: ChessApiSettings | dict[str, Any] | None = None,
) -> Any:
    """Profiles, archives (not loaded unless selected), games and online status of `players`.

    `start_month`/`end_month` (`YYYY/MM`, both included) limit the game archives loaded."""
    validate_range(start_month, end_month)
    if isinstance(players, str):
        players = [players]
    players = [p.lower() for p in players]
    resolved = resolve_settings(settings)
    client = make_client(resolved)
    return (
        players_profiles(client, players),
        players_archives(client, players),
        players_games(client, players, start_month, end_month),
        players_online_status(client, players, resolved.status_url),
    )


def _profile(client: HttpClient, username: str) -> dict[str, Any]:
    profile = client.get_json(f"player/{username}", missing_ok=True)
    if profile is None:
        raise TerminalError(f"chess source: player {username!r} does not exist ({client.url(f'player/{username}')} "
                            "answered 404)")
    for key in PROFILE_TIMESTAMPS:
        if key in profile:
            profile[key] = unix_to_datetime(profile[key])
    return profile


@shipload.resource(write_disposition="replace", primary_key="player_id",
                   columns={k: {"data_type": "timestamp"} for k in PROFILE_TIMESTAMPS})
def players_profiles(client: HttpClient, players: list[str]) -> Iterator[dict[str, Any]]:
    """One row per player (replaced on every run)."""
    yield from client.map(lambda u: _profile(client, u), players)


def _archives(client: HttpClient, username: str) -> list[str]:
    body = client.get_json(f"player/{username}/games/archives", missing_ok=True) or {}
    return list(body.get("archives") or [])


@shipload.resource(write_disposition="replace", selected=False)
def players_archives(client: HttpClient, players: list[str]) -> Iterator[list[dict[str, Any]]]:
    """The monthly archive URLs of each player (not loaded by default)."""
    for username, urls in zip(players, client.map(lambda u: _archives(client, u), players), strict=True):
        yield [{"username": username, "month": archive_month(url), "url": url} for url in urls]


@shipload.resource(write_disposition="append", columns={k: {"data_type": "timestamp"} for k in GAME_TIMESTAMPS})
def players_games(
    client: HttpClient, players: list[str], start_month: str | None = None, end_month: str | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """Games of every archive month not loaded yet. Archives of months that may still grow (the
    current one) are fetched again on every run; games already loaded from them are skipped by uuid."""
    state = shipload.current.resource_state()
    final = set(state.setdefault("archives", []))
    open_months: dict[str, list[str]] = state.setdefault("open_months", {})
    now = helpers.utc_now()
    wanted: list[str] = []
    for urls in client.map(lambda u: _archives(client, u), players):
        for url in urls:
            if archive_key(url) not in final and url not in wanted and in_range(archive_month(url), start_month, end_month):
                wanted.append(url)
    seen: set[str] = set()
    fetched = client.map(lambda url: (client.get_json(url, missing_ok=True) or {}).get("games") or [], wanted)
    for url, games in zip(wanted, fetched, strict=True):
        month = archive_month(url)
        loaded = set(open_months.get(month, ()))
        new = []
        for game in games:
            uuid = game.get("uuid") or game.get("url")
            if uuid in loaded or uuid in seen:
                continue
            seen.add(uuid)
            for key in GAME_TIMESTAMPS:
                if key in game:
                    game[key] = unix_to_datetime(game[key])
            new.append(game)
        if month_closed(month, now):
            final.add(archive_key(url))
            state["archives"].append(archive_key(url))
        else:
            open_months[month] = sorted(loaded | {g.get("uuid") or g.get("url") for g in games})
        if new:
            yield new
    for month in [m for m in open_months if month_closed(m, now)]:
        del open_months[month]


@shipload.resource(write_disposition="append")
def players_online_status(client: HttpClient, players: list[str], status_url: str) -> Iterator[dict[str, Any]]:
    """A snapshot of each player's online status (appended on every run)."""
    def status(username: str) -> dict[str, Any]:
        body = client.get_json(status_url.rstrip("/") + f"/user/popup/{username}", missing_ok=True) or {}
        return {"username": username, "online_status": body.get("onlineStatus"),
                "last_login_date": body.get("lastLoginDate"), "check_time": helpers.utc_now()}

    yield from client.map(status, players)
