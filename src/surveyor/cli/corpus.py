"""`surveyor ingest|fetch|status|papers|topics`: building the corpus and looking at it."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from surveyor import api


def register(app: typer.Typer, state) -> None:
    from surveyor.cli.app import emit_json, parse_day

    @app.command()
    def ingest(paths: list[Path] = typer.Argument(..., help="PDF files, folders of PDFs, or .bib exports (Zotero, JabRef, Mendeley)"),
               as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON"),
               offline: bool = typer.Option(False, "--offline", help="Do not ask arXiv for metadata")) -> None:
        """Parse, chunk, embed and index PDFs (incremental: unchanged files are skipped)."""
        report = api.ingest(paths, offline=offline, settings=state.settings())
        for failure in report.failed:
            typer.echo(f"failed: {failure['path']}: {failure['error']}", err=True)
        for item in report.listed:
            typer.echo(f"not ingested: {item['entry']}: {item['reason']}", err=True)
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
        id_list = [i.strip() for raw in (ids or []) for i in raw.split(",") if i.strip()]
        fetched = api.fetch(topic=topic, query=query, ids=id_list, since=parse_day(since, "--since"),
                            until=parse_day(until, "--until"), max_results=max_results, settings=state.settings())
        result = fetched.to_json()
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
        info = api.status(settings=state.settings())
        if as_json:
            emit_json(info)
            return
        typer.echo(f"home: {info['home']}\npapers: {info['papers']}\nchunks: {info['chunks']}")
        typer.echo(f"  {'topic':<14} {'papers':>6}  {'newest':<10}  {'last update':<20}  survey")
        for name, fresh in info["freshness"].items():
            survey = "none" if fresh["stale"] is None else (
                f"stale ({len(fresh['new_since_survey'])} new papers)" if fresh["stale"] else "fresh")
            typer.echo(f"  {name:<14} {fresh['papers']:>6}  {fresh['newest'] or '-':<10}  "
                       f"{fresh['last_update'] or 'never':<20}  {survey}")


    @app.command()
    def papers(as_json: bool = typer.Option(False, "--json")) -> None:
        """List the papers in the corpus."""
        rows = api.papers(settings=state.settings())
        if as_json:
            emit_json(rows)
            return
        for row in rows:
            typer.echo(f"{row['arxiv_id']:<16} {(row['published'] or '????')[:10]}  {row['pages']:>3}p {row['chunks']:>4}c  {row['title']}")


    @app.command()
    def topics(as_json: bool = typer.Option(False, "--json")) -> None:
        """The research topics surveys and digests know."""
        items = api.topics()
        if as_json:
            emit_json([{"name": t.name, "title": t.title, "aliases": t.aliases} for t in items])
            return
        for t in items:
            typer.echo(f"{t.name:<14} {t.title}  (aliases: {', '.join(t.aliases)})")
