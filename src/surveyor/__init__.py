"""surveyor: grounded literature surveys, answers and digests over full-text arXiv papers.

The library offers what the command does (see surveyor.api):

    import surveyor
    surveyor.ingest(["papers/"], home="~/surveys-home")
    answer = surveyor.ask("What objective does PPO maximize?", llm="none", home="~/surveys-home")
    print(answer.answer)

The package reads as the pipeline, each folder importing only the ones below it:
sources (arXiv, identity) → index (parse, chunk, embed, store, catalog) → grounding
(citations, quotes, support) → retrieve, evidence → render → write (ask, survey, digest)
→ api → cli. settings, topics, files, textnorm and errors sit under all of them.
"""
from importlib.metadata import version as _version

from surveyor.api import (
           CitedBy,
           FetchReport,
           PaperEvidence,
           PaperReferences,
           PaperResults,
           ask,
           card,
           cited_by,
           digest,
           equations,
           fetch,
           figures,
           ingest,
           papers,
           refs,
           results,
           status,
           survey,
           topics,
)
from surveyor.errors import SurveyorError
from surveyor.settings import Settings, load_settings

__version__ = _version("surveyor")

__all__ = ["CitedBy", "FetchReport", "PaperEvidence", "PaperReferences", "PaperResults", "Settings", "SurveyorError",
           "__version__", "ask", "card", "cited_by", "digest", "equations", "fetch", "figures", "ingest",
           "load_settings", "papers", "refs", "results", "status", "survey", "topics"]
