"""What changed since the previous run of a topic's survey: new and removed papers, sections added or
rewritten, claims whose support changed; and the "What changed since <previous>" Markdown.
"""
from __future__ import annotations

from pathlib import Path

from surveyor.files import read_json
from surveyor.render.html import md_escape
from surveyor.render.runinfo import latest_dir
from surveyor.write.survey.drafts import _hash
from surveyor.write.survey.select import Entry


def previous_run(topic_dir: Path) -> tuple[Path | None, dict | None, dict | None]:
    """The latest published survey folder of the topic, with its run.json and support.json."""
    prev = latest_dir(topic_dir)
    if prev is None:
        return None, None, None
    return prev, read_json(prev / "run.json"), read_json(prev / "support.json")


def what_changed(prev_dir: Path | None, prev_run: dict | None, prev_support: dict | None, entries: list[Entry],
                 sections: dict[str, dict], claims: list[dict]) -> dict | None:
    if prev_dir is None or prev_run is None:
        return None
    old_papers = {p["paper_id"]: p for p in prev_run.get("papers", [])}
    now = {e.pid: e for e in entries}
    new_papers = [{"arxiv_id": e.cite_id, "title": e.record.title} for pid, e in now.items() if pid not in old_papers]
    removed = [{"arxiv_id": p.get("arxiv_id") or pid, "title": pid} for pid, p in old_papers.items() if pid not in now]
    old_sections = prev_run.get("sections", {})
    own = [sid for sid in sections if not sid.startswith("theme-block:")]  # blocks only gather other sections
    added = [sid for sid in own if sid not in old_sections]
    rewritten = [sid for sid in own if sid in old_sections and old_sections[sid] != _hash(sections[sid].get("md", ""))]
    old_claims = {(c["paper_id"], c["page"], c["text"]): c for c in (prev_support or {}).get("claims", [])}
    new_claims = {(c["paper_id"], c["page"], c["text"]): c for c in claims}
    changed = [{"text": k[2], "paper": k[0], "page": k[1],
                "was": "supported" if old_claims[k]["supported"] else "unsupported",
                "now": "supported" if c["supported"] else "unsupported"}
               for k, c in new_claims.items() if k in old_claims and old_claims[k]["supported"] != c["supported"]]
    return {"since": prev_dir.name, "new_papers": new_papers, "removed_papers": removed,
            "sections_added": added, "sections_rewritten": rewritten, "support_changed": changed,
            "claims_added": sum(1 for k in new_claims if k not in old_claims),
            "claims_removed": sum(1 for k in old_claims if k not in new_claims)}


def changes_md(changes: dict) -> list[str]:
    out = [f"## What changed since {changes['since']}", ""]
    if changes["new_papers"]:
        out.append("- **New papers:** " + "; ".join(f"{md_escape(p['title'])} ({p['arxiv_id']})"
                                                     for p in changes["new_papers"]))
    else:
        out.append("- **New papers:** none")
    if changes["removed_papers"]:
        out.append("- **No longer included:** " + "; ".join(f"{md_escape(p['title'])} ({p['arxiv_id']})"
                                                            for p in changes["removed_papers"]))
    out.append("- **Sections added:** " + (", ".join(changes["sections_added"]) or "none"))
    out.append("- **Sections rewritten:** " + (", ".join(changes["sections_rewritten"]) or "none"))
    out.append(f"- **Claims whose support changed:** {len(changes['support_changed'])}"
               + (" — " + "; ".join(f"“{md_escape(c['text'][:80])}” ({c['was']} → {c['now']})"
                                    for c in changes["support_changed"][:8]) if changes["support_changed"] else ""))
    out.append(f"- **New claims:** {changes['claims_added']}; **claims no longer made:** {changes['claims_removed']}")
    out.append("")
    return out
