"""The "Relates to" line: for each matching interest with a published survey, its closest section."""
from __future__ import annotations

import re
from pathlib import Path

from surveyor.settings import Settings
from surveyor.topics import Topic

_SKIP_SECTIONS = re.compile(r"scope|reference|bibliograph|sources|citation|what changed|comparison|about this|"
                            r"run record|contents|appendix|notes?$", re.I)
_THEME_SECTION = re.compile(r"^\d+\.\d+\s+Theme:|^Theme:", re.I)


def survey_sections(path: Path) -> list[tuple[str, str]]:
    """(heading, text) of the sections of a survey.md a new paper can extend.

    A survey (surveyor.survey) groups its papers into themes ('### 4.N Theme: ...'): when it has
    themes, those are the candidates; otherwise every '##'/'###' section except the scope,
    comparison, change log and references."""
    sections: list[tuple[str, list[str]]] = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        heading = re.match(r"^#{2,3}\s+(.*\S)\s*$", line)
        if heading:
            sections.append((re.sub(r"\\(.)", r"\1", heading.group(1).strip()), []))
        elif sections:
            sections[-1][1].append(line)
    kept = [(h, " ".join(" ".join(body).split())) for h, body in sections if not _SKIP_SECTIONS.search(h)]
    themes = [(h, t) for h, t in kept if _THEME_SECTION.search(h)]
    return themes or kept


def relates_to(settings: Settings, record_vec, topics: list[Topic], cache: dict) -> list[dict]:
    """For each topic with a published survey: the section whose text is closest to the paper."""
    import numpy as np

    from surveyor.index.embedder import get_embedder
    from surveyor.render.runinfo import latest_dir

    out = []
    for topic in topics:
        if topic.name not in cache:
            folder = latest_dir(settings.surveys_dir / topic.name)
            survey = folder / "survey.md" if folder else None
            sections = survey_sections(survey) if survey and survey.is_file() else []
            vecs = None
            if sections:
                vecs = get_embedder(settings.embedding).embed([f"{h}. {t[:800]}" for h, t in sections])
            cache[topic.name] = (survey, sections, vecs)
        survey, sections, vecs = cache[topic.name]
        if not sections:
            continue
        sims = vecs @ record_vec
        best = int(np.argmax(sims))
        out.append({"topic": topic.name, "survey": str(survey), "section": sections[best][0],
                    "similarity": round(float(sims[best]), 3)})
    return out
