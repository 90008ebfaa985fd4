"""`surveyor survey`: a grounded survey of one topic (see surveyor.write.survey)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from surveyor import api
from surveyor.errors import InputError

FORMATS = {"md": ("md",), "html": ("html",), "all": ("md", "html")}


def register(app: typer.Typer, state) -> None:
    @app.command()
    def survey(topic: str = typer.Option(..., "--topic", help="Topic name or alias (see `surveyor topics`)"),
               llm: Optional[str] = typer.Option(None, "--llm", help="auto | embedded | ollama[:MODEL] | none "
                                                 "(none: extractive, quotes only, fast)"),
               since: Optional[int] = typer.Option(None, "--since", help="Only papers first published in or after YEAR"),
               fmt: str = typer.Option("all", "--format", help="md | html | all"),
               out: Optional[Path] = typer.Option(None, "--out", help="Write under DIR/<topic>/ instead of <home>/surveys"),
               as_json: bool = typer.Option(False, "--json", help="Print the result as JSON"),
               fetch: bool = typer.Option(False, "--fetch", help="Fetch the topic's papers from arXiv first"),
               max_papers: Optional[int] = typer.Option(None, "--max-papers", help="Survey at most this many papers (default: survey.max_papers)"),
               quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress lines on stderr")) -> None:
        """Write a grounded survey of a topic: eras, themes, equations, comparison, next steps, references."""
        if fmt not in FORMATS:
            raise InputError(f"--format must be md, html or all, got {fmt!r}")
        say = (lambda msg: None) if quiet or as_json else (lambda msg: typer.echo(msg, err=True))
        result = api.survey(topic, llm=llm, since=since, formats=FORMATS[fmt], out=out, fetch=fetch,
                            max_papers=max_papers, settings=state.settings(), progress=say)
        for warning in result.warnings:
            typer.echo(f"warning: {warning}", err=True)
        if as_json:
            from surveyor.cli.app import emit_json

            emit_json(result.to_json())
            return
        s = result.summary["support"]
        drafts = result.summary["drafts"]
        typer.echo(f"survey: {result.dir}")
        typer.echo(f"papers: {len(result.papers)} (traditional {len(result.eras['traditional'])}, "
                   f"recent {len(result.eras['recent'])}); themes: {'; '.join(result.summary['themes'])}")
        typer.echo(f"supported: {result.supported_share:.1%} of {s['cited']} cited sentences "
                   f"(generated {s['generated']}: {s['generated_supported_as_written']} kept as written, "
                   f"{s['rewritten']} rewritten from quotes, {s['dropped']} dropped)")
        typer.echo(f"equations: {result.equations}, figures: {result.figures}; drafts reused {drafts['reused']}, "
                   f"written {drafts['made']}; writer: {result.summary['llm']}")
        for skipped in result.summary["skipped"]:
            typer.echo(f"skipped {skipped['paper_id']}: {skipped['note']}")
        if result.changed_since:
            typer.echo(f"changed since {result.changed_since}: see 'What changed' in the survey")
        typer.echo(f"seconds: {result.seconds:.1f}")
