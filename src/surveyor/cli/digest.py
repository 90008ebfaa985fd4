"""`surveyor digest`: the week's papers for the user's interests (see surveyor.digest)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from surveyor import api


def register(app: typer.Typer, state) -> None:
    from surveyor.cli.app import emit_json, parse_day

    @app.command()
    def digest(
        week: Optional[str] = typer.Option(None, "--week", help="Any day of the Monday–Sunday (UTC) week to digest (YYYY-MM-DD)"),
        since: Optional[str] = typer.Option(None, "--since", help="First submission on or after (YYYY-MM-DD, UTC)"),
        until: Optional[str] = typer.Option(None, "--until", help="First submission on or before (YYYY-MM-DD, UTC)"),
        n: Optional[int] = typer.Option(None, "--n", help="How many papers to pick (default: digest.n)"),
        topics: Optional[list[str]] = typer.Option(None, "--topics", help="Interests (names, codes or aliases; repeat or comma-separate); default: all six"),
        fetch: bool = typer.Option(False, "--fetch", help="First search arXiv for the window in the configured categories, download and ingest the relevant papers"),
        llm: Optional[str] = typer.Option(None, "--llm", help="Generator for a short advancement summary: auto | embedded | ollama[:MODEL] | none (default: settings)"),
        fmt: str = typer.Option("all", "--format", help="md | html | all (the .json record is always written)"),
        allow_repeats: bool = typer.Option(False, "--allow-repeats", help="Pick papers featured in earlier digests too"),
        no_record: bool = typer.Option(False, "--no-record", help="Do not note this digest's picks in the digest history"),
        out: Optional[Path] = typer.Option(None, "--out", help="Folder for the files (default: <home>/digests)"),
        as_json: bool = typer.Option(False, "--json", help="Print {since, until, picks, message} as JSON"),
    ) -> None:
        """The week's papers: N picks for your interests, each with challenges, innovation, key equation,
        architecture, training, datasets and metrics, cited to pages. Never outside the window, never repeated."""
        say = (lambda msg: None) if as_json else (lambda msg: typer.echo(msg, err=True))
        result = api.digest(week=parse_day(week, "--week"), since=parse_day(since, "--since"),
                            until=parse_day(until, "--until"), n=n, topics=topics, fetch=fetch, llm=llm,
                            formats=fmt, allow_repeats=allow_repeats, record=not no_record, out=out,
                            settings=state.settings(), progress=say)
        if as_json:
            emit_json(result.to_json())
            return
        typer.echo(f"digest {result.since} – {result.until}: {len(result.picks)} pick(s)")
        typer.echo(result.message)
        for pick in result.picks:
            typer.echo(f"  {pick.arxiv_id:<12} {(pick.record.meta.published or '')[:10]}  [{pick.topic.name}] "
                       f"{pick.record.meta.title}")
        for kind in ("md", "html", "json"):
            if kind in result.files:
                typer.echo(f"{kind}: {result.files[kind]}")
        sys.stdout.flush()
