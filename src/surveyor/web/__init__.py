"""Web: `surveyor serve`, a small local web app over one home (Starlette + Jinja2, no JavaScript).

Owns the routes and page templates: the corpus, each paper's card, equations, figures,
references and results, surveys and digests with citations that open their page views, an ask
box whose answer streams in, and a "regenerate survey" button with progress.

May import: api, render (page views, HTML), and everything below them; nothing imports it but cli.
"""
from surveyor.web.app import create_app

__all__ = ["create_app"]
