"""The `surveyor serve` app: Starlette routes over one home, Jinja2 pages, no JavaScript.

Read-only except two routes: ask (which, like `surveyor ask`, only reads the index) and
"regenerate survey", which writes a new survey folder while holding the index's write lock
(the lock `surveyor ingest` takes), so a survey is never written from a half-ingested corpus;
a second regeneration while one runs is refused.

Long answers stream: the page head is sent at once, then progress lines, then the answer and
each citation's page view as it is made (chunked HTML; a browser shows each part as it arrives).

Files: page images come from the page-view cache (render.pageview), PDFs from the catalog's
record, crops and output files through `/files/...`, which serves only regular files inside
the home (a path that resolves outside it, `..`, or a symlink out is a 404).
"""
from __future__ import annotations

import functools
import queue
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote as urlquote

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from surveyor import api
from surveyor.errors import SurveyorError
from surveyor.grounding.citations import Citation
from surveyor.index.catalog import Catalog
from surveyor.render.html import md_math, render_body
from surveyor.render.pageview import PageView, page_view, page_view_html
from surveyor.settings import Settings

SERVED_SUFFIXES = {".png", ".jpg", ".jpeg", ".svg", ".pdf", ".html", ".md", ".bib", ".json", ".txt"}


@functools.cache
def _templates() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("surveyor.web", "templates"), autoescape=True,
                              undefined=jinja2.ChainableUndefined)


def _page(title: str, content: str = "", template: str = "base.html.j2", **values) -> str:
    return _templates().get_template(template).render(title=title, content=content, **values)


def _frame(title: str) -> tuple[str, str]:
    """The page around streamed content: (head, tail)."""
    marker = "\x00content\x00"
    head, tail = _page(title, marker).split(marker)
    return head, tail


def view_link(paper_id: str, page: int, quote: str | None = None) -> str:
    """The app's page view of a citation (the first highlight scrolled into view)."""
    query = f"?q={urlquote(quote)}" if quote else ""
    return f"/paper/{urlquote(paper_id)}/page/{page}{query}#hl"


def _cite_link(citation: Citation, claim: str) -> tuple[str, str]:
    return (view_link(citation.paper_id, citation.page, claim or None),
            f"/paper/{urlquote(citation.paper_id)}/pdf#page={citation.page}")


def _sheet(view: PageView, image_src: str) -> str:
    """A page image with its highlight marks, for embedding in a page (the ask answer's citations)."""
    boxes = "".join(
        f'<div class="hl" style="left:{x0 * 100:.3f}%;top:{y0 * 100:.3f}%;width:{(x1 - x0) * 100:.3f}%;'
        f'height:{(y1 - y0) * 100:.3f}%"></div>' for x0, y0, x1, y1 in view.highlight.boxes)
    width, height = view.size
    return (f'<div class="sheet" data-method="{view.highlight.method}"><img alt="page {view.page}" '
            f'src="{image_src}" width="{width}" height="{height}" loading="lazy">{boxes}</div>')


class App:
    def __init__(self, settings: Settings, llm: str | None = None):
        self.settings, self.llm = settings, llm
        self.home = settings.home.resolve()
        self.regenerating = threading.Lock()

    # ------------------------------------------------------------------ helpers

    def _record(self, paper_id: str):
        catalog = Catalog(self.settings.index_dir)
        try:
            return catalog.paper(paper_id)
        finally:
            catalog.close()

    def _view(self, paper_id: str, page: int, quote: str | None):
        record = self._record(paper_id)
        if record is None:
            return None, None
        return record, page_view(self.settings.home / record.file, record.sha256, page, quote,
                                 self.settings.index_dir / "pages")

    def _file_href(self, path: str | Path | None) -> str | None:
        if not path:
            return None
        try:
            return "/files/" + urlquote(Path(path).resolve().relative_to(self.home).as_posix())
        except ValueError:
            return None

    def _surveys(self) -> list[dict]:
        root = self.settings.surveys_dir
        out = []
        for latest in sorted(root.glob("*/latest")) if root.is_dir() else []:
            if (latest / "survey.md").is_file():
                out.append({"topic": latest.parent.name, "stamp": latest.resolve().name})
        return out

    # ------------------------------------------------------------------ corpus and papers

    def corpus(self, request: Request) -> Response:
        surveys = self._surveys()
        digests = sorted(p.relative_to(self.settings.digests_dir).as_posix()
                         for p in self.settings.digests_dir.rglob("*.md")) if self.settings.digests_dir.is_dir() else []
        status = api.status(settings=self.settings) if (self.settings.index_dir / "catalog.sqlite").is_file() else {
            "papers": 0, "chunks": 0, "topics": {}}
        papers = api.papers(settings=self.settings) if status["papers"] else []
        return HTMLResponse(_page("Corpus", template="corpus.html.j2", status=status, home=str(self.home),
                                  papers=papers, topics=api.topics(), surveys=surveys, digests=digests,
                                  surveyed={s["topic"] for s in surveys}))

    def paper(self, request: Request) -> Response:
        pid = request.path_params["pid"]
        record = self._record(pid)
        if record is None:
            return HTMLResponse(_page("Not found", f'<p class="error">paper {pid} is not in the corpus</p>'), 404)
        card, card_error = [], ""
        try:
            found = api.card(pid, settings=self.settings)
            card = [(name.replace("_", " "), quotes) for name in ("challenges", "innovations", "architecture",
                    "training", "datasets", "metrics", "limitations", "future_work")
                    if (quotes := getattr(found, name))]
        except SurveyorError as exc:
            card_error = str(exc)
        equations = api.equations(pid, settings=self.settings).to_json()
        for eq in equations:
            latex = eq.get("latex")
            # With LaTeX: MathML (and the LaTeX to copy); without, the crop is the equation, its text folded away.
            eq["html"] = render_body(md_math(latex), self.home) if latex else (
                '<details class="extracted"><summary>Extracted text</summary><pre>'
                f'{_escape(eq.get("text") or "")}</pre></details>')
            eq["image"] = self._file_href(eq.get("image"))
        figures = api.figures(pid, settings=self.settings).to_json()
        for fig in figures:
            fig["image"] = self._file_href(fig.get("image"))
        results = api.results(pid, settings=self.settings).rows
        refs = api.refs(pid, settings=self.settings).entries
        references = [{"text": r["raw"], "cited": (r.get("match") or {}).get("paper_id") if isinstance(
            r.get("match"), dict) else r.get("match")} for r in refs]
        citing = [{"id": c["paper_id"], "title": c.get("title")} for c in
                  api.cited_by(pid, settings=self.settings).citing]
        return HTMLResponse(_page(record.title, template="paper.html.j2", pid=record.paper_id,
                                  paper=record.to_public(), card=card, card_error=card_error, equations=equations,
                                  figures=figures, results=results, references=references, cited_by=citing))

    def page(self, request: Request) -> Response:
        pid, n = request.path_params["pid"], request.path_params["n"]
        quote = request.query_params.get("q") or None
        try:
            record, view = self._view(pid, n, quote)
        except SurveyorError as exc:
            return HTMLResponse(_page("Not found", f'<p class="error">{exc}</p>'), 404)
        if record is None:
            return HTMLResponse(_page("Not found", f'<p class="error">paper {pid} is not in the corpus</p>'), 404)
        base = f"/paper/{urlquote(record.paper_id)}"
        links = [("paper", base), (f"PDF at page {n}", f"{base}/pdf#page={n}")]
        if n > 1:
            links.append(("previous page", f"{base}/page/{n - 1}"))
        if n < view.pages:
            links.append(("next page", f"{base}/page/{n + 1}"))
        return HTMLResponse(page_view_html(view, paper_id=record.paper_id, title=f"{record.title} [{record.paper_id}]",
                                           quote=quote,
                                           image_src=f"{base}/image/{n}", links=links))

    def image(self, request: Request) -> Response:
        try:
            record, view = self._view(request.path_params["pid"], request.path_params["n"], None)
        except SurveyorError:
            return Response("no such page", 404)
        if record is None:
            return Response("no such paper", 404)
        return FileResponse(view.png, media_type="image/png", headers={"Cache-Control": "max-age=86400"})

    def pdf(self, request: Request) -> Response:
        record = self._record(request.path_params["pid"])
        path = (self.settings.home / record.file) if record else None
        if path is None or not path.is_file():
            return Response("no such paper", 404)
        return FileResponse(path, media_type="application/pdf", content_disposition_type="inline")

    def files(self, request: Request) -> Response:
        """A regular file inside the home, by its path relative to the home; anything else is a 404."""
        path = (self.home / request.path_params["path"]).resolve()
        if (self.home not in path.parents or not path.is_file() or path.suffix.lower() not in SERVED_SUFFIXES):
            return Response("not found", 404)
        return FileResponse(path)

    # ------------------------------------------------------------------ surveys and digests

    def _markdown_page(self, md_file: Path, title: str, extra: str = "") -> Response:
        body = render_body(md_file.read_text(encoding="utf-8"), md_file.parent, cite_link=_cite_link)
        return HTMLResponse(_page(title, extra + body))

    def survey(self, request: Request) -> Response:
        topic = request.path_params["topic"]
        folder = self.settings.surveys_dir / topic / request.path_params.get("stamp", "latest")
        md_file = folder / "survey.md"
        if not md_file.resolve().is_relative_to(self.home) or not md_file.is_file():
            return HTMLResponse(_page("Not found", f'<p class="error">no survey of {topic} yet</p>'), 404)
        html_file = folder / "survey.html"
        extra = (f'<form action="/survey/{urlquote(topic)}/regenerate" method="post"><p>'
                 + (f'<a href="{self._file_href(html_file)}">self-contained HTML</a> · ' if html_file.is_file() else "")
                 + '<button>Regenerate survey</button></p></form>')
        return self._markdown_page(md_file, f"Survey: {topic}", extra)

    def digest(self, request: Request) -> Response:
        root = self.settings.digests_dir.resolve()
        md_file = (root / request.path_params["name"]).resolve()
        if root not in md_file.parents or md_file.suffix != ".md" or not md_file.is_file():
            return HTMLResponse(_page("Not found", '<p class="error">no such digest</p>'), 404)
        return self._markdown_page(md_file, md_file.stem)

    async def regenerate(self, request: Request) -> Response:
        topic = request.path_params["topic"]
        if not self.regenerating.acquire(blocking=False):
            return HTMLResponse(_page("Busy", '<p class="error">a survey is being written; try again when it is done</p>'),
                                409)
        messages: queue.Queue = queue.Queue()

        def work() -> None:
            from filelock import Timeout

            from surveyor.index.ingest import index_lock

            lock = index_lock(self.settings)
            try:
                lock.acquire(timeout=self.settings.index.lock_timeout_s)
            except Timeout:
                messages.put(("error", "the index is being written by another command; try again later"))
                return
            try:
                result = api.survey(topic, llm=self.llm, settings=self.settings,
                                    progress=lambda m: messages.put(("progress", m)))
                messages.put(("done", f"{result.supported_share:.0%} of cited sentences supported"))
            except SurveyorError as exc:
                messages.put(("error", str(exc)))
            except Exception as exc:  # shown on the page; the server keeps serving
                messages.put(("error", f"{type(exc).__name__}: {exc}"))
            finally:
                lock.release()

        async def stream() -> AsyncIterator[str]:
            head, tail = _frame(f"Regenerating {topic}")
            yield head + f"<h1>Regenerating the survey of {topic}</h1>\n"
            worker = threading.Thread(target=work, daemon=True)
            worker.start()
            try:
                while True:
                    kind, text = await run_in_threadpool(messages.get)
                    if kind == "progress":
                        yield f'<p class="progress">{_escape(text)}</p>\n'
                        continue
                    if kind == "done":
                        yield (f'<p class="done">Done: {_escape(text)}. <a id="result" href="/survey/{urlquote(topic)}">'
                               f'Open the survey</a></p>\n')
                    else:
                        yield f'<p class="error">{_escape(text)}</p>\n'
                    break
            finally:
                await run_in_threadpool(worker.join)
                self.regenerating.release()
            yield tail

        return StreamingResponse(stream(), media_type="text/html; charset=utf-8")

    # ------------------------------------------------------------------ ask

    async def ask(self, request: Request) -> Response:
        question = (request.query_params.get("q") or "").strip()
        if not question:
            return RedirectResponse("/")

        async def stream() -> AsyncIterator[str]:
            head, tail = _frame(f"Ask: {question[:60]}")
            yield head + f'<h1>{_escape(question)}</h1>\n<p class="progress">retrieving passages and checking quotes…</p>\n'
            started = time.perf_counter()
            try:
                answer = await run_in_threadpool(api.ask, question, llm=self.llm, settings=self.settings)
            except SurveyorError as exc:
                yield f'<p class="error">{_escape(str(exc))}</p>\n' + tail
                return
            def answer_link(citation: Citation, claim: str) -> tuple[str, str]:
                # The answer's own quotes for that page, when it has them, are what its tag cites.
                quotes = [c.quote for c in answer.citations if (c.arxiv_id, c.page) == (citation.paper_id,
                                                                                       citation.page)]
                return _cite_link(citation, " … ".join(quotes) or claim)

            body = render_body(answer.answer, self.home, cite_link=answer_link)
            seconds = time.perf_counter() - started
            yield f'<p class="progress">answered with --llm {_escape(answer.llm)} in {seconds:.1f} s</p>\n'
            yield f'<section class="answer{" abstained" if answer.abstained else ""}">{body}</section>\n'
            if answer.citations:
                yield '<h2>Cited pages</h2>\n<div class="citations">\n'
                for c in answer.citations:
                    record, view = await run_in_threadpool(self._view, c.arxiv_id, c.page, c.quote)
                    if record is None:
                        continue
                    base = f"/paper/{urlquote(record.paper_id)}"
                    yield (f'<div class="citation"><blockquote>“{_escape(c.quote)}”</blockquote>'
                           f'<a class="cite" href="{view_link(record.paper_id, c.page, c.quote)}">'
                           f'[{_escape(record.paper_id)} p.{c.page}]</a> {_escape(record.title)} · '
                           f'<a class="pdf" href="{base}/pdf#page={c.page}">pdf</a>'
                           f'{_sheet(view, f"{base}/image/{c.page}")}</div>\n')
                yield "</div>\n"
            elif answer.sources:
                yield "<h2>Closest papers</h2><ul>" + "".join(
                    f'<li><a href="{view_link(s.arxiv_id, s.page)}">[{_escape(s.arxiv_id)} p.{s.page}]</a> '
                    f"{_escape(s.title)}</li>" for s in answer.sources) + "</ul>\n"
            yield tail

        return StreamingResponse(stream(), media_type="text/html; charset=utf-8")


def _escape(text: str) -> str:
    import html

    return html.escape(text, quote=True)


def create_app(settings: Settings, llm: str | None = None) -> Starlette:
    """The web app over `settings.home`; `llm` is the backend for ask and regenerate (None: settings)."""
    app = App(settings, llm)
    routes = [
        Route("/", app.corpus),
        # Paper ids may hold a slash (hep-th/9901001): the paper's own page is matched last.
        Route("/paper/{pid:path}/page/{n:int}", app.page),
        Route("/paper/{pid:path}/image/{n:int}", app.image),
        Route("/paper/{pid:path}/pdf", app.pdf),
        Route("/paper/{pid:path}", app.paper),
        Route("/files/{path:path}", app.files),
        Route("/survey/{topic}", app.survey),
        Route("/survey/{topic}/run/{stamp}", app.survey),
        Route("/survey/{topic}/regenerate", app.regenerate, methods=["POST"]),
        Route("/digest/{name:path}", app.digest),
        Route("/ask", app.ask),
    ]
    web = Starlette(routes=routes)
    web.state.surveyor = app
    return web
