"""`surveyor serve`: the local web app over the home (see surveyor.web)."""
from __future__ import annotations

from typing import Optional

import typer

from surveyor.errors import InputError


def register(app: typer.Typer, state) -> None:
    @app.command()
    def serve(host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (localhost by default)"),
              port: int = typer.Option(8765, "--port", min=1, max=65535, help="Port to listen on"),
              llm: Optional[str] = typer.Option(None, "--llm",
                                                help="Backend for ask and regenerate: embedded | ollama:MODEL | none | auto")) -> None:
        """Browse the corpus, surveys and digests; every citation opens its page with the quote highlighted."""
        import uvicorn

        from surveyor.web import create_app

        settings = state.settings()
        if not (settings.index_dir / "catalog.sqlite").is_file():
            raise InputError(f"nothing ingested at {settings.home}: run `surveyor ingest PATH` there first")
        web = create_app(settings, llm=llm)
        typer.echo(f"surveyor: serving {settings.home} at http://{host}:{port}/ (Ctrl-C stops)", err=True)
        uvicorn.run(web, host=host, port=port, log_level="warning")
