"""PyMuPDF without the two optional packages its import pulls in.

PyMuPDF 2 imports pymupdf.layout (an ONNX layout analyser, loaded with its model) and
pymupdf4llm whenever they are installed, and its wheel requires both. surveyor reads the
text layer only (get_text, never get_layout, find_tables or to_markdown), so blocking
those imports takes `import pymupdf` from ~0.4 s to ~0.08 s, which `surveyor ask`'s
2 s budget needs. A None entry in sys.modules makes `import name` raise ImportError, which
PyMuPDF already handles as "not installed".
"""
from __future__ import annotations

import sys

if "pymupdf" not in sys.modules:  # once PyMuPDF is imported in full, blocking changes nothing
    sys.modules.setdefault("pymupdf.layout", None)
    sys.modules.setdefault("pymupdf4llm", None)

import pymupdf  # noqa: E402

__all__ = ["pymupdf"]
