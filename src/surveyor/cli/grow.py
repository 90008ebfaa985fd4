"""`surveyor update|expand`: the corpus growing by itself."""
from __future__ import annotations

from typing import Optional

import typer

from surveyor import api


def _say(message: str) -> None:
    typer.echo(message, err=True)


def register(app: typer.Typer, state) -> None:
    from surveyor.cli.app import parse_day

    @app.command()
    def update(topic: Optional[list[str]] = typer.Option(None, "--topic", help="Only these topics (repeat; default: all)"),
               since: Optional[str] = typer.Option(None, "--since", help="Search from this day (YYYY-MM-DD) instead of the cursor"),
               max_per_topic: Optional[int] = typer.Option(None, "--max-per-topic", help="Relevant new papers fetched per topic"),
               dry_run: bool = typer.Option(False, "--dry-run", help="Print what would be fetched; change nothing"),
               surveys: bool = typer.Option(False, "--surveys", help="Rewrite stale surveys and this week's digest"),
               llm: Optional[str] = typer.Option(None, "--llm", help="Writer for --surveys: embedded | ollama:MODEL | none"),
               as_json: bool = typer.Option(False, "--json")) -> None:
        """Fetch and ingest each topic's new arXiv papers since its last update (safe to run from cron)."""
        report = api.update(topics=topic, since=parse_day(since, "--since"), max_per_topic=max_per_topic,
                            dry_run=dry_run, surveys=surveys, llm=llm, settings=state.settings(),
                            progress=None if as_json else _say)
        _finish(report, as_json, _print_update)

    @app.command()
    def expand(topic: str = typer.Option(..., "--topic", help="The topic whose papers' references are followed"),
               max_n: Optional[int] = typer.Option(None, "--max", help="At most this many papers fetched"),
               min_cited: Optional[int] = typer.Option(None, "--min-cited", help="Only works cited by this many topic papers"),
               dry_run: bool = typer.Option(False, "--dry-run", help="Print the ranked list and resolution; fetch nothing"),
               as_json: bool = typer.Option(False, "--json")) -> None:
        """Fetch the works a topic's papers cite most that the corpus lacks (resolved to arXiv, never guessed)."""
        report = api.expand(topic, max_n=max_n, min_cited=min_cited, dry_run=dry_run, settings=state.settings(),
                            progress=None if as_json else _say)
        _finish(report, as_json, _print_expand)


def _finish(report, as_json: bool, show) -> None:
    """Failures to stderr, the report as JSON or text; exit 1 when any paper failed."""
    from surveyor.cli.app import emit_json

    for failure in report.failed:
        typer.echo(f"failed: {failure['id']}: {failure['error']}", err=True)
    if as_json:
        emit_json(report.to_json())
    else:
        show(report)
    if report.failed:
        raise typer.Exit(1)


def _print_expand(report) -> None:
    typer.echo(f"{report.topic}: {report.topic_papers} topic papers; {len(report.candidates)} cited works missing "
               "from the corpus")
    shown = [c for c in report.candidates if c.status != "not tried"]
    for cand in shown:
        where = {"resolved": f"-> {cand.resolved_id} ({cand.how})", "in corpus": f"{cand.resolved_id} already in corpus",
                 "duplicate": f"{cand.resolved_id} (listed above)"}.get(cand.status, f"unresolved: {cand.reason}")
        typer.echo(f"  cited by {len(cand.citing):>2}  {cand.year or '????'}  {(cand.title or '')[:70]}")
        typer.echo(f"        {where}")
        if cand.status == "unresolved":
            typer.echo(f"        reference: {' '.join(cand.raw.split())[:160]}")
    if len(report.candidates) > len(shown):
        typer.echo(f"  ... {len(report.candidates) - len(shown)} more cited works not tried")
    if report.dry_run:
        typer.echo(f"would fetch {len(report.fetched)}: {' '.join(report.fetched) or '-'}")
    else:
        typer.echo(f"fetched {len(report.fetched)}, added {len(report.added)}, failed {len(report.failed)}")


def _print_update(report) -> None:
    if report.nothing_to_do and not report.dry_run:
        typer.echo("nothing to do: every topic was updated today" + (
            f"; stale surveys: {', '.join(report.stale)} (run with --surveys)" if report.stale else ""))
        return
    for plan in report.topics:
        if plan.skipped:
            typer.echo(f"{plan.topic}: {plan.skipped}")
            continue
        verb = "would fetch" if report.dry_run else "chosen"
        typer.echo(f"{plan.topic}: {plan.since}..{plan.until}: {plan.found} found, {plan.new} new, "
                   f"{verb} {len(plan.chosen)}")
        for row in plan.chosen:
            typer.echo(f"  {row['id']:<12} {row['published']}  {row['score']:.2f}  {row['title']}")
    if report.dry_run:
        return
    typer.echo(f"downloaded {len(report.downloaded)}, reused {len(report.reused)} already on disk, "
               f"added {len(report.added)}, failed {len(report.failed)}")
    typer.echo(f"stale surveys: {', '.join(report.stale) if report.stale else 'none'}")
    for written in report.surveys:
        typer.echo(f"survey rewritten: {written['topic']}: {written['dir']}")
    if report.digest:
        typer.echo(f"digest: {report.digest}")
