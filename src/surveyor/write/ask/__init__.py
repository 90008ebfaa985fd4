"""`surveyor ask`: one question answered from the corpus, every sentence cited to a page that supports it.

Owns the answer (`answer`: retrieval, abstention, the LLM prompt and the Answer model),
grounding the model's reply sentence by sentence (`ground`), choosing verbatim quotes and the
extractive answer (`quotes`), and what code adds without the model: a paper's numbered equation
(`equations`), the table row with the asked-for value (`tables`), the rows of a
result table that state a method's number on a benchmark (`results`), a bulleted list's further
items (`enumerations`).

May import: surveyor.retrieve, surveyor.evidence, surveyor.grounding, surveyor.index,
surveyor.write.llm and surveyor.write.prompts, and below them settings, errors, textnorm.
Never surveyor.index.ingest or surveyor.sources.fetch.
"""
