"""TeX math glyphs that a PDF's text layer decodes wrongly, mapped back to what they show.

:func:`repair_math_text` maps the known wrong decodings back (raw font codes of
CMMI/CMSY/CMEX, Apple "menu glyphs" such as ⇡ for π, blackboard letters of MSBM);
:func:`is_math_font` tells the fonts that only set mathematics.
"""

from __future__ import annotations

import functools
import re

__all__ = ["is_math_font", "repair_math_text"]


# --------------------------------------------------------------------------- fonts

# Names of fonts that only set mathematics. Roman text fonts (CMR, CMBX, ...) also set
# digits and operators in formulas but are body fonts in many papers, so they are neutral.
_MATH_FONT = re.compile(
    r"CMMI|CMSY|CMEX|CMBSY|MSBM|MSAM|EUFM|EUSM|EUEX|EURM|RSFS|BBOLD|BBM|DSROM|STMARY|WASY|"
    r"ESINT|LASY|Math|txsy|txmi|txex|pxsy|pxmi|pxex|zxsy|zxmi|FdSymbol|MTExtra|MT-Extra|"
    r"Euclid|STIXSize|STIXNonUni|STIXVariants|STIXIntegrals|(?<![A-Za-z])Symbol(?!s)",
    re.I,
)


@functools.lru_cache(maxsize=1024)
def is_math_font(name: str) -> bool:
    return bool(_MATH_FONT.search(name))


@functools.lru_cache(maxsize=1024)
def _font_family(name: str) -> str | None:
    """The TeX font encoding a font uses, when its raw codes can be decoded by table."""
    upper = name.upper()
    for family in ("CMMI", "CMSY", "CMEX", "MSBM"):
        if family in upper:
            return family.lower()
    if "CMBSY" in upper:
        return "cmsy"
    if re.search(r"TXEX|PXEX", upper):
        return "cmex"
    if re.match(r"(.*\+)?CM(R|BX|SS|TI|SL)\d", upper):
        return "cmr"
    return None


def _table(start: int, chars: str) -> dict[int, str]:
    return {start + i: c for i, c in enumerate(chars)}


# TeX font layouts (OML, OMS, OMX, OT1): code -> Unicode of the glyph at that code.
_CMMI = _table(0x00, "ΓΔΘΛΞΠΣΥΦΨΩαβγδϵζηθικλμνξπρστυϕχψωεϑϖϱςφ↼↽⇀⇁")
_CMMI.update(_table(0x2E, "▷◁"))
_CMSY = _table(
    0x00,
    "−·×∗÷⋄±∓⊕⊖⊗⊘⊙◯∘•≍≡⊆⊇≤≥⪯⪰∼≈⊂⊃≪≫≺≻←→↑↓↔↗↘≃⇐⇒⇑⇓⇔↖↙∝′∞∈∋△▽/↦∀∃¬∅ℜℑ⊤⊥",
)
_CMSY.update(_table(0x5B, "∪∩⊎∧∨⊢⊣⌊⌋⌈⌉{}⟨⟩|‖↕⇕\\≀√⨿∇∫⊔⊓⊑⊒§†‡¶♣♢♡♠"))
_CMEX = _table(0x00, "()[]⌊⌋⌈⌉{}⟨⟩|‖/\\()()[]⌊⌋⌈⌉{}⟨⟩/\\()[]⌊⌋⌈⌉{}⟨⟩/\\/\\")
_CMEX.update(_table(0x30, "⎛⎞⎡⎤⎣⎦⎢⎥⎧⎫⎩⎭⎨⎬⎪⏐⎝⎠⎜⎟⟨⟩⊔⊔∮∮⊙⊙⊕⊕⊗⊗∑∏∫⋃⋂⊎⋀⋁∑∏∫⋃⋂⊎⋀⋁"))
_CMEX.update(_table(0x60, "∐∐^^^~~~[]⌊⌋⌈⌉{}√√√√√⎷⎷‖↑↓⏞⏟⏞⏟⇑⇓"))
_CMR = _table(0x00, "ΓΔΘΛΞΠΣΥΦΨΩ\ufb00\ufb01\ufb02\ufb03\ufb04ıȷ`´ˇ˘¯˚¸ßæœøÆŒØ")

# Some PDF producers (Apple Quartz among them) map a TeX glyph's raw code 0x00-0x1F to
# the Apple menu glyph with that code, so π (CMMI 0x19) reads as ⇡ and × (CMSY 0x02) as ⇥.
_APPLE_MENU_GLYPH_CODE = {
    "⇥": 0x02, "⇤": 0x03, "⌤": 0x04, "⇧": 0x05, "⌃": 0x06, "⌥": 0x07, "␣": 0x09,
    "⌦": 0x0A, "↵": 0x0B, "↩": 0x0B, "↪": 0x0C, "✏": 0x0F, "⇣": 0x10, "⌘": 0x11,
    "✓": 0x12, "◆": 0x13, "⌫": 0x17, "⇠": 0x18, "⇡": 0x19, "⇢": 0x1A, "⎋": 0x1B,
    "⌧": 0x1C, "『": 0x1D, "』": 0x1E,
}
_FAMILY_TABLE = {"cmmi": _CMMI, "cmsy": _CMSY, "cmex": _CMEX, "cmr": _CMR}

# ASCII that a correctly decoded glyph of these fonts never yields, so it is a raw code.
_RAW_ASCII = {
    "cmmi": set("!\"#$%&'"),
    "cmsy": set("!\"#$%&'()*+,-./0123456789:;<=>?[]^_`abcdefghijklmnopqrstuvwxyz~"),
    "cmex": set("!\"#$%&'*+,-.0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ^_`abcdefghijklmnopqrstuvwxyz~"),
}
_DOUBLE_STRUCK = {"C": "ℂ", "H": "ℍ", "N": "ℕ", "P": "ℙ", "Q": "ℚ", "R": "ℝ", "Z": "ℤ"}


def _repair_char(ch: str, family: str | None) -> str:
    if ch == "µ":
        return "μ"
    if family is None:
        return ch
    if family == "msbm":
        if "A" <= ch <= "Z":
            return _DOUBLE_STRUCK.get(ch, chr(0x1D538 + ord(ch) - ord("A")))
        return ch
    table = _FAMILY_TABLE[family]
    code = ord(ch)
    if code < 0x20:
        return table.get(code, ch)
    if ch in _APPLE_MENU_GLYPH_CODE:
        return table.get(_APPLE_MENU_GLYPH_CODE[ch], ch)
    if ch in _RAW_ASCII.get(family, ()):
        return table.get(code, ch)
    return ch


def repair_math_text(text: str, font: str) -> str:
    """Undo known wrong decodings of TeX math glyphs set in ``font``."""
    family = _font_family(font)
    return "".join(_repair_char(ch, family) for ch in text)

