"""Surveys: `surveyor survey TOPIC`, a grounded literature survey of one topic from its papers' evidence cards.

Owns, one job a module:
  select    which papers (topic records, eras, the capped selection) and their evidence cards
  themes    clustering the papers into themes and naming them by counted terms
  drafts    the draft cache keyed by inputs, and the writer that drafts paragraphs with the LLM
            and checks every cited sentence (surveyor.grounding.check_cited)
  assemble  the Markdown: per-paper entries with equations and figures, eras, themes, comparison
            table, challenges, references
  changes   the diff against the previous run ("What changed since ...")
  build     SurveyOptions, SurveyResult, SurveyBuilder and build_survey: orchestration and output files

May import: surveyor.write.llm and surveyor.write.prompts, render (Markdown, HTML, BibTeX, run records),
evidence (cards), retrieve, grounding, index (catalog, embedder, topic scores), sources.arxiv and
sources.identity (reachability, safe file names), topics, settings, files, textnorm, errors. Never
surveyor.sources.fetch or surveyor.index.ingest: a survey reads the corpus, it never fetches or ingests.
"""
from surveyor.write.survey.build import SurveyBuilder, SurveyOptions, SurveyResult, build_survey
from surveyor.write.survey.drafts import DraftCache
from surveyor.write.survey.select import Entry, TopicCorpusEmpty, era_of, select_papers

__all__ = [
    "DraftCache",
    "Entry",
    "SurveyBuilder",
    "SurveyOptions",
    "SurveyResult",
    "TopicCorpusEmpty",
    "build_survey",
    "era_of",
    "select_papers",
]
