"""`surveyor ask`: a question in, a cited answer (or an honest abstention) out."""
from __future__ import annotations

from typing import Optional

import typer

from surveyor import api
from surveyor.grounding import format_citation


def register(app: typer.Typer, state) -> None:
    from surveyor.cli.app import emit_json

    @app.command()
    def ask(question: str = typer.Argument(..., help="The question, in quotes"),
            k: Optional[int] = typer.Option(None, "--k", min=1, max=50, help="Passages to retrieve (default: retrieval.k)"),
            llm: Optional[str] = typer.Option(None, "--llm",
                                              help="embedded | ollama:MODEL | none (extractive, fast) | auto (default: llm.backend)"),
            as_json: bool = typer.Option(False, "--json", help="Print the answer as JSON"),
            paper: Optional[list[str]] = typer.Option(None, "--paper", help="Only this paper (arXiv id; repeatable)"),
            since_year: Optional[int] = typer.Option(None, "--since-year", help="Only papers first published in or after this year"),
            until_year: Optional[int] = typer.Option(None, "--until-year", help="Only papers first published in or before this year"),
            topic: Optional[str] = typer.Option(None, "--topic", help="Only papers of this topic (see `surveyor topics`)")) -> None:
        """Answer a question from the corpus; every sentence cites a page that supports it."""
        state.read_only = True
        result = api.ask(question, k=k, llm=llm, papers=paper or None, since_year=since_year,
                         until_year=until_year, topic=topic, settings=state.settings(), warm=True)
        if as_json:
            emit_json(result.to_json())
            return
        typer.echo(result.answer)
        if result.sources:
            typer.echo("\nClosest papers:" if result.abstained else "\nSources:")
            for source in result.sources:
                typer.echo(f"  {format_citation(source.arxiv_id, source.page)} {source.title}")
