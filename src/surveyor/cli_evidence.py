"""`surveyor equations|figures|card ARXIV_ID`: evidence taken verbatim from one paper.

Crops of equations and figures land in <home>/index/assets/<paper>/; in JSON output
every "image" is an absolute path, so a reader can open it directly.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import typer

# evidence.cards (and PyMuPDF under it) is imported inside the commands: `surveyor ask` must not pay for it.

_WIDTH = 100


def _absolute(image: str | None, folder: Path) -> str | None:
    return str(folder / image) if image else None


def _with_absolute_images(rows: list[dict], folder: Path) -> list[dict]:
    return [{**row, "image": _absolute(row.get("image"), folder)} for row in rows]


def _paper_pdf(state, arxiv_id: str) -> tuple[str, Path, Path]:
    """(paper id, PDF path, assets folder) of a paper in the corpus; InputError otherwise."""
    from .evidence.cards import assets_dir, open_catalog, require_paper

    settings = state.settings()
    catalog = open_catalog(settings, arxiv_id)
    try:
        record = require_paper(catalog, arxiv_id)
    finally:
        catalog.close()
    return record.paper_id, settings.home / record.file, assets_dir(settings, record.paper_id)


def _one_line(text: str, limit: int = 90) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _print_card(card, folder: Path) -> None:
    from .evidence.cards import QUOTE_FIELDS

    typer.echo(f"{card.paper_id}  {card.title}  ({(card.published or '????')[:10]})")
    if card.note:
        typer.echo(f"note: {card.note}")
    for name in QUOTE_FIELDS:
        quotes = getattr(card, name)
        if not quotes:
            continue
        typer.echo(f"\n{name.replace('_', ' ').capitalize()}")
        for q in quotes:
            typer.echo(textwrap.fill(f'"{q.text}" [{card.paper_id} p.{q.page}]', _WIDTH,
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
    from .cli import emit_json

    @app.command()
    def equations(arxiv_id: str = typer.Argument(..., help="arXiv id of a paper in the corpus"),
                  as_json: bool = typer.Option(False, "--json", help="Print a JSON list")) -> None:
        """Display equations of a paper: number, page, text, and a crop of each as printed."""
        from .evidence.equations import extract_equations

        paper_id, pdf, folder = _paper_pdf(state, arxiv_id)
        from .ingest import find_latex_source

        latex = find_latex_source(state.settings(), paper_id)
        rows = [eq.to_dict() for eq in extract_equations(pdf, assets_dir=folder, latex_source=latex, image_prefix="eq")]
        rows = _with_absolute_images(rows, folder)
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
        from .evidence.figures import extract_figures

        paper_id, pdf, folder = _paper_pdf(state, arxiv_id)
        rows = _with_absolute_images([f.to_dict() for f in extract_figures(pdf, assets_dir=folder,
                                                                            image_prefix="fig")], folder)
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
    def card(arxiv_id: str = typer.Argument(..., help="arXiv id of a paper in the corpus"),
             as_json: bool = typer.Option(False, "--json", help="Print the card as JSON")) -> None:
        """The paper's evidence card: challenges, innovations, key equations, datasets, metrics, ... as quotes."""
        settings = state.settings()
        from .evidence.cards import assets_dir, get_card

        evidence = get_card(settings, arxiv_id)
        folder = assets_dir(settings, evidence.paper_id)
        if as_json:
            data = evidence.to_dict()
            data["equations"] = _with_absolute_images(data["equations"], folder)
            data["figures"] = _with_absolute_images(data["figures"], folder)
            data["assets_dir"] = str(folder)
            emit_json(data)
            return
        _print_card(evidence, folder)
