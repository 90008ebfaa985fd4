"""The topic as a map: which papers are key, and how recent work builds on earlier work (the citation graph).

Every topic paper appears in the survey. The key papers (at most `max_papers`) get the full advancement
entry; the rest get a compact entry under their theme. Key papers are chosen by

    key score = 0.5 · cites / max_cites  +  0.3 · topic / max_topic  +  0.2 · recency

where `cites` is the number of other topic papers whose reference lists cite the paper (the corpus's
citation graph, index.catalog refs), `topic` is its topic score, and `recency` is its first arXiv
version's place between the topic's oldest (0) and newest (1) paper (0 when undated); each term is
divided by its largest value among the topic's papers. The era floor of select.select_papers still
holds (at least MIN_PER_ERA of each era where the topic has them).

Lineage: for each recent paper (era by arXiv date, select.era_of), the traditional topic papers its
reference list cites; then recent papers citing earlier recent ones, and the lineage before 2024. A lineage line quotes the reference entry as printed on the citing paper's
page where the entry sits, so its citation is checked like every other quote (writer.quote).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from surveyor.index.catalog import PaperRecord, RefRow
from surveyor.render.html import md_escape, md_image
from surveyor.textnorm import collapse
from surveyor.topics import Topic
from surveyor.write.survey.drafts import _short_title, _Writer
from surveyor.write.survey.select import Entry, era_of

W_CITES, W_TOPIC, W_RECENCY = 0.5, 0.3, 0.2
FOUNDATIONS = 5          # most-cited topic papers listed as foundations
FIGURE = "assets/lineage.png"
SCORE_TEXT = (f"key score = {W_CITES} × in-topic citations / most in-topic citations + {W_TOPIC} × topic score / "
              f"highest topic score + {W_RECENCY} × recency (first arXiv version, oldest topic paper 0, newest 1)")


@dataclass
class Graph:
    """In-corpus citations among the topic's papers: (citing, cited) -> the first entry that cites it."""

    edges: dict[tuple[str, str], RefRow] = field(default_factory=dict)

    @classmethod
    def of(cls, rows: list[RefRow]) -> "Graph":
        graph = cls()
        for row in sorted(rows, key=lambda r: (r.paper_id, r.ref.ordinal)):
            if row.match and row.match != row.paper_id:
                graph.edges.setdefault((row.paper_id, row.match), row)
        return graph

    def cited_by(self, pid: str) -> list[str]:
        return sorted(citing for citing, cited in self.edges if cited == pid)

    def cites(self, pid: str) -> list[str]:
        return sorted(cited for citing, cited in self.edges if citing == pid)


def key_scores(records: list[PaperRecord], topic: Topic, graph: Graph) -> dict[str, float]:
    """The key score of every topic paper (formula in the module docstring), rounded to 4 places."""
    cites = {r.paper_id: len(graph.cited_by(r.paper_id)) for r in records}
    top_cites = max(cites.values(), default=0) or 1
    top_topic = max((r.topics.get(topic.name, 0.0) for r in records), default=0.0) or 1.0
    dates = {r.paper_id: d.timestamp() for r in records if (d := r.meta.published_date()) is not None}
    first, last = min(dates.values(), default=0.0), max(dates.values(), default=0.0)
    span = (last - first) or 1.0
    return {r.paper_id: round(W_CITES * cites[r.paper_id] / top_cites
                              + W_TOPIC * r.topics.get(topic.name, 0.0) / top_topic
                              + W_RECENCY * ((dates[r.paper_id] - first) / span if r.paper_id in dates else 0.0), 4)
            for r in records}


def lineage_pairs(records: list[PaperRecord], graph: Graph, eras: tuple[str, str] = ("recent", "traditional")
                  ) -> list[tuple[str, str, RefRow]]:
    """(citing, cited, the entry) for every edge from a paper of era eras[0] to one of era eras[1] (default: a recent
    paper building on a traditional one), by citing date then cited date. A citation of a paper not older than
    the citing one (a later version cited, a concurrent preprint) is not lineage."""
    by_id = {r.paper_id: r for r in records}
    pairs = [(citing, cited, row) for (citing, cited), row in graph.edges.items()
             if citing in by_id and cited in by_id
             and era_of(by_id[citing]) == eras[0] and era_of(by_id[cited]) == eras[1]
             and (by_id[cited].meta.published or "") <= (by_id[citing].meta.published or "")]
    return sorted(pairs, key=lambda p: (by_id[p[0]].meta.published or "", p[0], by_id[p[1]].meta.published or "", p[1]))


def foundations(records: list[PaperRecord], graph: Graph, limit: int = FOUNDATIONS) -> list[tuple[str, list[str]]]:
    """The most-cited topic papers: (paper, the topic papers citing it), most cited first, only those cited."""
    ranked = sorted(((r.paper_id, graph.cited_by(r.paper_id)) for r in records),
                    key=lambda item: (-len(item[1]), item[0]))
    return [item for item in ranked if item[1]][:limit]


def _name(entry: Entry) -> str:
    return f"**{md_escape(_short_title(entry.record.title))}** ({entry.cite_id}, {entry.year or 'n.d.'})"


def _entry_quote(writer: _Writer, section: str, citing: Entry, row: RefRow, claims: list[dict]) -> str | None:
    """The reference entry as printed on its page, quoted and checked: its title, else its first words."""
    if not row.ref.page:
        return None
    for text in (row.ref.title, " ".join(collapse(row.ref.raw).split(" ")[:12])):
        if text and len(text) >= 12:
            trial: list[dict] = []
            rendered = writer.quote(section, citing, text, row.ref.page, trial, words=30)
            if rendered:
                claims.extend(trial)
                return rendered
    return None


def links_text(entry: Entry, graph: Graph, by_pid: dict[str, Entry]) -> str:
    """“cites …; cited by …” among the topic's papers, or '' when it has no in-topic link."""
    parts = []
    cites = [by_pid[p] for p in graph.cites(entry.pid) if p in by_pid]
    cited_by = [by_pid[p] for p in graph.cited_by(entry.pid) if p in by_pid]
    if cites:
        parts.append("cites " + ", ".join(f"{md_escape(_short_title(e.record.title))} ({e.cite_id})" for e in cites))
    if cited_by:
        parts.append("cited by " + ", ".join(f"{md_escape(_short_title(e.record.title))} ({e.cite_id})"
                                             for e in cited_by))
    return "; ".join(parts)


def compact_line(writer: _Writer, entry: Entry, graph: Graph, by_pid: dict[str, Entry], claims: list[dict]) -> str:
    """A compact entry: title, date, one innovation quote with its page, and its citation-graph links."""
    line = (f"- **{md_escape(entry.record.title)}** ({entry.cite_id}, "
            f"{(entry.record.meta.published or 'n.d.')[:10]})")
    for q in (entry.card.innovations or entry.card.challenges)[:2]:
        rendered = writer.quote(f"compact:{entry.pid}", entry, q.text, q.page, claims, words=40)
        if rendered:
            line += f": {rendered}"
            break
    links = links_text(entry, graph, by_pid)
    return line + (f" · *{links}*" if links else "")


def lineage_section(writer: _Writer, entries: list[Entry], graph: Graph, figure: bool) -> dict:
    """The lineage section: the timeline figure, the most-cited foundations and what recent papers build on."""
    by_pid = {e.pid: e for e in entries}
    records = [e.record for e in entries]
    claims: list[dict] = []
    lines = ["## Lineage: what recent work builds on (citation graph)", ""]
    if figure:
        lines += [md_image("Lineage timeline: topic papers by first arXiv version and theme, arrows are in-corpus "
                           "citations", FIGURE), "",
                  f"*Topic papers by first arXiv version (x) and theme (y); an arrow goes from a paper to a topic "
                  f"paper its reference list cites ({len(graph.edges)} in-corpus citations among "
                  f"{len(entries)} topic papers).*", ""]
    lines += ["### Most-cited foundations in the corpus", ""]
    found = foundations(records, graph)
    for pid, citing in found:
        names = ", ".join(f"{md_escape(_short_title(by_pid[c].record.title))} ({by_pid[c].cite_id})" for c in citing)
        lines.append(f"- {_name(by_pid[pid])} — cited by {len(citing)} of {len(entries)} topic papers: {names}")
    if not found:
        lines.append("*No topic paper's reference list cites another topic paper in the corpus.*")
    used: dict[str, int] = {}
    for kind, eras, heading, verb, none in (
            ("recent→traditional", ("recent", "traditional"), "Recent papers and the traditional work they build on",
             "extends", "*No recent topic paper's reference list cites a traditional (before 2024) topic paper in the "
                        "corpus.*"),
            ("recent→recent", ("recent", "recent"), "Recent papers building on recent ones", "builds on",
             "*No recent topic paper's reference list cites an earlier recent topic paper in the corpus.*"),
            ("traditional→traditional", ("traditional", "traditional"), "Earlier lineage (before 2024)", "extends",
             "*No traditional topic paper's reference list cites an earlier topic paper in the corpus.*")):
        lines += ["", f"### {heading}", ""]
        pairs = lineage_pairs(records, graph, eras)
        for citing, cited, row in pairs:
            quote = _entry_quote(writer, "lineage", by_pid[citing], row, claims)
            where = (f", listing it in its references as {quote}" if quote else
                     " (its reference entry could not be located on a page)")
            lines.append(f"- {_name(by_pid[citing])} {verb} {_name(by_pid[cited])}{where}")
        used[kind] = len(pairs)
        if not pairs:
            lines.append(none)
    return {"md": "\n".join(lines), "claims": claims, "edges": used, "graph_edges": len(graph.edges)}


def timeline_data(entries: list[Entry], graph: Graph, theme_names: dict[int, str]) -> tuple[list[dict], list]:
    """Nodes (id, label, date, group) and edges for render.timeline; undated papers are left out of the figure."""
    nodes = [{"id": e.pid, "label": e.cite_id, "date": d, "group": f"{e.theme}. {theme_names.get(e.theme, '')}",
              "key": e.full}
             for e in entries if (d := e.record.meta.published_date()) is not None]
    shown = {n["id"] for n in nodes}
    return nodes, [(a, b) for a, b in graph.edges if a in shown and b in shown]


def group_compact(entries: list[Entry]) -> dict[int, list[Entry]]:
    groups: dict[int, list[Entry]] = defaultdict(list)
    for e in entries:
        if not e.full:
            groups[e.theme].append(e)
    return groups
