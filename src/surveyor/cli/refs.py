"""`surveyor refs|cited-by ARXIV_ID`: the citation graph that reference lists make among corpus papers."""
from __future__ import annotations

import typer

from surveyor import api


def _one_line(text: str, limit: int = 110) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _entry(entry: dict) -> str:
    """'Schulman et al. (2017) Proximal policy optimization algorithms' when the fields were read, else as printed."""
    if not entry["title"]:
        return _one_line(entry["raw"])
    authors = entry["authors"]
    who = (authors[0].split(",")[0] + (" et al." if len(authors) > 1 else "")) if authors else ""
    year = f"({entry['year']})" if entry["year"] else ""
    return _one_line(" ".join(part for part in (who, year, entry["title"]) if part))


def register(app: typer.Typer, state) -> None:
    from surveyor.cli.app import emit_json

    @app.command()
    def refs(arxiv_id: str = typer.Argument(..., help="arXiv id of a paper in the corpus"),
             as_json: bool = typer.Option(False, "--json", help="Print the list as JSON")) -> None:
        """A paper's reference list, each entry with the corpus paper it cites (→ ID)."""
        found = api.refs(arxiv_id, settings=state.settings())
        if as_json:
            emit_json(found.to_json())
            return
        matched = sum(1 for e in found.entries if e["match"])
        typer.echo(f"{found.paper_id}  {found.title or ''}".rstrip())
        typer.echo(f"{len(found.entries)} references, {matched} in the corpus"
                   + (f" ({found.note})" if found.note else ""))
        for entry in found.entries:
            target = f"→ {entry['match']}" if entry["match"] else ""
            typer.echo(f"{entry['ordinal']:>4}  {target:<14} {_entry(entry)}")

    @app.command("cited-by")
    def cited_by(arxiv_id: str = typer.Argument(..., help="arXiv id of a paper in the corpus"),
                 as_json: bool = typer.Option(False, "--json", help="Print the list as JSON")) -> None:
        """The corpus papers whose reference lists cite this paper."""
        found = api.cited_by(arxiv_id, settings=state.settings())
        if as_json:
            emit_json(found.to_json())
            return
        typer.echo(f"{found.paper_id}  {found.title or ''}".rstrip())
        typer.echo(f"cited by {len(found.citing)} paper{'' if len(found.citing) == 1 else 's'} in the corpus")
        for paper in found.citing:
            year = (paper["published"] or "????")[:4]
            typer.echo(f"  {paper['paper_id']:<14} {year}  {_one_line(paper['title'] or '', 80)}")
            for entry in paper["entries"]:
                typer.echo(f"      [{entry['ordinal']}] {_one_line(entry['raw'], 100)}")
