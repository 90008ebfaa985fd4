"""The `surveyor` command: a thin layer over the library. Errors become one line and an exit code."""
from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Optional

import typer

from .errors import InputError, SurveyorError
from .settings import Settings, load_settings

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Retrieval-augmented literature surveys over full-text arXiv papers.")


class State:
    home: Optional[Path] = None
    config: Optional[Path] = None
    # Set by commands that only read the index (ask): they may end without the interpreter's teardown.
    read_only: bool = False

    def settings(self) -> Settings:
        return load_settings(self.home, self.config)


STATE = State()


@app.callback()
def _global(home: Optional[Path] = typer.Option(None, "--home", help="Where corpus/ and index/ live (env SURVEYOR_HOME; default: current directory)"),
            config: Optional[Path] = typer.Option(None, "--config", help="Extra settings file (TOML)")) -> None:
    STATE.home, STATE.config = home, config


def emit_json(data) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def parse_day(value: Optional[str], flag: str) -> Optional[date]:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{flag} must be a date as YYYY-MM-DD, got {value!r}") from None


@app.command()
def ingest(paths: list[Path] = typer.Argument(..., help="PDF files or folders of PDFs"),
           as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON"),
           offline: bool = typer.Option(False, "--offline", help="Do not ask arXiv for metadata")) -> None:
    """Parse, chunk, embed and index PDFs (incremental: unchanged files are skipped)."""
    from .ingest import Ingestor

    report = Ingestor(STATE.settings(), arxiv_lookup=not offline).run(paths)
    for failure in report.failed:
        typer.echo(f"failed: {failure['path']}: {failure['error']}", err=True)
    if as_json:
        emit_json(report.to_json())
    else:
        typer.echo(f"added {report.added}, updated {report.updated}, unchanged {report.unchanged}, "
                   f"failed {len(report.failed)}; corpus: {report.papers} papers, {report.chunks} chunks")
    if report.failed:
        raise typer.Exit(1)


@app.command()
def fetch(topic: Optional[str] = typer.Option(None, "--topic", help="Use a topic's queries and categories"),
          query: Optional[str] = typer.Option(None, "--query", help="Free-text arXiv query"),
          ids: Optional[list[str]] = typer.Option(None, "--ids", help="arXiv ids (repeat or comma-separate)"),
          since: Optional[str] = typer.Option(None, "--since", help="First submission on or after (YYYY-MM-DD, UTC)"),
          until: Optional[str] = typer.Option(None, "--until", help="First submission on or before (YYYY-MM-DD, UTC)"),
          max_results: int = typer.Option(20, "--max", help="At most this many papers"),
          as_json: bool = typer.Option(False, "--json")) -> None:
    """Search arXiv, download the PDFs into corpus/, and ingest them."""
    from .fetch import fetch_papers

    id_list = [i.strip() for raw in (ids or []) for i in raw.split(",") if i.strip()]
    result = fetch_papers(STATE.settings(), topic=topic, query=query, ids=id_list,
                          since=parse_day(since, "--since"), until=parse_day(until, "--until"), max_results=max_results)
    report = result["ingest"]
    for failure in report["failed"]:
        typer.echo(f"failed: {failure['path']}: {failure['error']}", err=True)
    if as_json:
        emit_json(result)
    else:
        typer.echo(f"found {result['found']} on arXiv, downloaded {result['downloaded']}; "
                   f"added {report['added']}, updated {report['updated']}, unchanged {report['unchanged']}")
    if report["failed"]:
        raise typer.Exit(1)


@app.command()
def status(as_json: bool = typer.Option(False, "--json")) -> None:
    """Papers, chunks and papers per topic in the corpus."""
    from .corpus import status as corpus_status

    info = corpus_status(STATE.settings())
    if as_json:
        emit_json(info)
        return
    typer.echo(f"home: {info['home']}\npapers: {info['papers']}\nchunks: {info['chunks']}")
    for name, count in info["topics"].items():
        typer.echo(f"  {name}: {count}")


@app.command()
def papers(as_json: bool = typer.Option(False, "--json")) -> None:
    """List the papers in the corpus."""
    from .corpus import list_papers

    rows = list_papers(STATE.settings())
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        typer.echo(f"{row['arxiv_id']:<16} {(row['published'] or '????')[:10]}  {row['pages']:>3}p {row['chunks']:>4}c  {row['title']}")


@app.command()
def topics(as_json: bool = typer.Option(False, "--json")) -> None:
    """The research topics surveys and digests know."""
    from .topics import all_topics

    items = all_topics()
    if as_json:
        emit_json([{"name": t.name, "title": t.title, "aliases": t.aliases} for t in items])
        return
    for t in items:
        typer.echo(f"{t.name:<14} {t.title}  (aliases: {', '.join(t.aliases)})")


def _register_optional_commands() -> None:
    """Commands that live in their own modules (evidence, ask, survey, digest)."""
    import importlib

    for module in ("cli_evidence", "cli_ask", "cli_survey", "cli_digest"):
        try:
            importlib.import_module(f"surveyor.{module}").register(app, STATE)
        except ModuleNotFoundError as exc:
            if exc.name != f"surveyor.{module}":
                raise


_register_optional_commands()


def main() -> None:
    # Typer (standalone) handles usage errors, --help and Ctrl-C itself; our own errors become one line.
    try:
        app()
    except SystemExit as exc:
        if STATE.read_only and not exc.code:
            _exit_without_teardown()
        raise
    except SurveyorError as exc:
        typer.echo(f"surveyor: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        typer.echo("surveyor: interrupted", err=True)
        sys.exit(130)


def _exit_without_teardown() -> None:
    """End a read-only command at once. Freeing the vector store's native client and the encoder's
    weights at interpreter exit takes ~0.15 s of `surveyor ask`'s 2 s budget; the OS frees them
    anyway. Everything the command wrote (caches) was written whole before it returned."""
    import logging
    import os

    logging.shutdown()
    code = 0
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:  # a reader that closed the pipe early (| head)
            code = 1
    os._exit(code)
