"""`surveyor update|expand`: the corpus growing by itself."""
from __future__ import annotations

from typing import Optional

import typer

from surveyor import api


def _say(message: str) -> None:
    typer.echo(message, err=True)


def register(app: typer.Typer, state) -> None:
    from surveyor.cli.app import emit_json, parse_day

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
        for failure in report.failed:
            typer.echo(f"failed: {failure['id']}: {failure['error']}", err=True)
        if as_json:
            emit_json(report.to_json())
        else:
            _print_update(report)
        if report.failed:
            raise typer.Exit(1)


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
