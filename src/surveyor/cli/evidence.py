"""`surveyor equations|figures|results|card ARXIV_ID`: evidence taken verbatim from one paper.

Crops of equations and figures land in <home>/index/assets/<paper>/; in JSON output
every "image" is an absolute path, so a reader can open it directly.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import typer

from surveyor import api
from surveyor.grounding import format_citation

# evidence.cards (and PyMuPDF under it) is imported inside the commands: `surveyor ask` must not pay for it.

_WIDTH = 100


def _one_line(text: str, limit: int = 90) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _print_card(card, folder: Path) -> None:
    from surveyor.evidence.cards import QUOTE_FIELDS

    typer.echo(f"{card.paper_id}  {card.title}  ({(card.published or '????')[:10]})")
    if card.note:
        typer.echo(f"note: {card.note}")
    for name in QUOTE_FIELDS:
        quotes = getattr(card, name)
        if not quotes:
            continue
        typer.echo(f"\n{name.replace('_', ' ').capitalize()}")
        for q in quotes:
            typer.echo(textwrap.fill(f'"{q.text}" {format_citation(card.paper_id, q.page)}', _WIDTH,
                                     initial_indent="  - ", subsequent_indent="    "))
    if card.equations:
        typer.echo("\nKey equations")
        for eq in card.equations:
            label = f"({eq['number']})" if eq.get("number") else "(unnumbered)"
            typer.echo(f"  {label} p.{eq['page']}  {_one_line(eq['text'])}")
            typer.echo(f"      why: {', '.join(eq.get('why', []))}")
            if eq.get("image"):
                typer.echo(f"      image: {folder / eq['image']}")
    if card.figures:
        typer.echo("\nFigures")
        for fig in card.figures:
            kind = " (architecture)" if fig.get("is_architecture") else ""
            typer.echo(f"  Figure {fig.get('number')} p.{fig.get('page')}{kind}: {_one_line(fig.get('caption') or '')}")
            if fig.get("image"):
                typer.echo(f"      image: {folder / fig['image']}")
    if card.dataset_names:
        typer.echo(f"\nDatasets named: {', '.join(card.dataset_names)}")


def register(app: typer.Typer, state) -> None:
    from surveyor.cli.app import emit_json

    @app.command()
    def equations(arxiv_id: str = typer.Argument(..., help="arXiv id of a paper in the corpus"),
                  as_json: bool = typer.Option(False, "--json", help="Print a JSON list")) -> None:
        """Display equations of a paper: number, page, text, and a crop of each as printed."""
        found = api.equations(arxiv_id, settings=state.settings())
        paper_id, rows = found.paper_id, found.to_json()
        if as_json:
            emit_json(rows)
            return
        if not rows:
            typer.echo(f"{paper_id}: no display equations found (no math in the text layer)")
        for row in rows:
            label = f"({row['number']})" if row["number"] else "(unnumbered)"
            typer.echo(f"{label:<14} p.{row['page']:<3} {_one_line(row['text'])}")
            if row["image"]:
                typer.echo(f"{'':<19} image: {row['image']}")

    @app.command()
    def figures(arxiv_id: str = typer.Argument(..., help="arXiv id of a paper in the corpus"),
                as_json: bool = typer.Option(False, "--json", help="Print a JSON list")) -> None:
        """Figures of a paper with their captions and crops; architecture figures are marked."""
        found = api.figures(arxiv_id, settings=state.settings())
        paper_id, rows = found.paper_id, found.to_json()
        if as_json:
            emit_json(rows)
            return
        if not rows:
            typer.echo(f"{paper_id}: no figures found")
        for row in rows:
            kind = " (architecture)" if row.get("is_architecture") else ""
            typer.echo(f"Figure {row.get('number')} p.{row.get('page')}{kind}: {_one_line(row.get('caption') or '')}")
            if row.get("image"):
                typer.echo(f"    image: {row['image']}")

    @app.command()
    def results(arxiv_id: str = typer.Argument(..., help="arXiv id of a paper in the corpus"),
                as_json: bool = typer.Option(False, "--json", help="Print the rows as JSON")) -> None:
        """Rows of a paper's result tables: method, benchmark, metric, value, table and page; own method marked."""
        found = api.results(arxiv_id, settings=state.settings())
        if as_json:
            emit_json(found.to_json())
            return
        if not found.rows:
            typer.echo(f"{found.paper_id}: no result-table rows found (no captioned table in the text layer)")
        for row in found.rows:
            own = " (own)" if row["own"] else ""
            where = " / ".join(x for x in (row["benchmark"], row["metric"], row.get("setting", "")) if x) or "?"
            typer.echo(f"Table {row['table']} p.{row['page']:<3} {_one_line(row['method'], 40)}{own}: "
                       f"{_one_line(where, 40)} = {row['value']}")
        for note in found.notes:
            typer.echo(f"note: {note}")
        for skipped in found.skipped:
            typer.echo(f"not a result table: {skipped}")

    @app.command()
    def card(arxiv_id: str = typer.Argument(..., help="arXiv id of a paper in the corpus"),
             as_json: bool = typer.Option(False, "--json", help="Print the card as JSON")) -> None:
        """The paper's evidence card: challenges, innovations, key equations, datasets, metrics, ... as quotes."""
        evidence = api.card(arxiv_id, settings=state.settings())
        folder = evidence.assets_dir
        if as_json:
            emit_json(evidence.to_json())
            return
        _print_card(evidence, folder)
