"""Evidence taken verbatim from papers: display equations, figures and their LaTeX."""
