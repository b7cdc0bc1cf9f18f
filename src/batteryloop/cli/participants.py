"""``batteryloop participant``: register participants, issue, list and revoke their API tokens."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .common import console, error, failing, group, out, services

app = group("Participants and their API tokens.")


@app.command("add")
def participant_add(id: str, name: str, country: str,
                    role: Annotated[list[str], typer.Option("--role", help="repeat for several roles")],
                    token: Annotated[bool, typer.Option(help="also issue an API token and print it")] = True) -> None:
    """Register a participant (BPNL, Ouranos operator id or Korean business number)."""
    s = services()
    with failing():
        p = s.participants.create({"id": id, "name": name, "country": country, "roles": role})
        if token:
            p["token"] = s.participants.issue_token(p["id"], "cli")
    out(p)


@app.command("list")
def participant_list() -> None:
    """List participants."""
    out(services().participants.list())


@app.command("token")
def participant_token(participant_id: str, label: str = "cli",
                      ttl_days: Annotated[Optional[int], typer.Option(
                          min=0, help="days the token lives (default: BATTERYLOOP_TOKEN_TTL_DAYS; 0: never expires)")]
                      = None) -> None:
    """Issue a new API token for a participant (printed once; stored hashed; its id and expiry on stderr)."""
    from datetime import timedelta

    s = services()
    with failing():
        t = s.participants.issue(participant_id, label, None if ttl_days is None else timedelta(days=ttl_days))
    print(t["token"])
    console.print(f"token {t['id']} of {participant_id}, expires {t['expires_at'] or 'never'}", highlight=False)


@app.command("tokens")
def participant_tokens(participant_id: str) -> None:
    """List a participant's API tokens: id, label, created, expires, revoked, last used (never the token)."""
    s = services()
    with failing():
        out(s.participants.tokens(participant_id))


@app.command("revoke-token")
def participant_revoke_token(
        participant_id: str,
        token_id: Annotated[Optional[int], typer.Argument(help="the token's id (see `participant tokens`)")] = None,
        all_: Annotated[bool, typer.Option("--all", help="revoke all of the participant's tokens")] = False) -> None:
    """Revoke one API token (by id) or, with --all, every token of a participant.

    A running server refuses it within two seconds (how long it caches an authentication)."""
    if (token_id is None) == (not all_):
        error("give a TOKEN_ID or --all (not both)")
    s = services()
    with failing():
        if all_:
            n = s.participants.revoke_tokens(participant_id)
            console.print(f"revoked {n} token{'s' if n != 1 else ''} of {participant_id}")
        else:
            out(s.participants.revoke_token(participant_id, token_id))  # type: ignore[arg-type]
