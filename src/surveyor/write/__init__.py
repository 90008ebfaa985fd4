"""Write: grounded text from the corpus as it is.

Owns the LLM backends and prompts, and the three writers: `ask` (answers), `survey` (topic
surveys), `digest` (weekly picks). Every cited sentence a writer emits passes
surveyor.grounding.check_cited.

May import: render, evidence, retrieve, grounding, index, sources (read-only helpers),
topics, settings, files, textnorm, errors. Never fetches, downloads or ingests.
"""
