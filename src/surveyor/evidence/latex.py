"""LaTeX of numbered equations, read from an arXiv source bundle.

:func:`parse_latex_equations` maps each equation number as the PDF prints it ("3",
"2.1", "A.4", "5b", or whatever ``\\tag{}`` says) to the LaTeX body of that display.
It replays LaTeX's numbering on the flattened source:

* ``equation``, ``multline`` and ``eqnarray``/``align``/``gather``/``flalign``/
  ``alignat`` lines each take the next number unless marked ``\\nonumber``/``\\notag``;
  starred environments, ``\\[ \\]`` and ``$$ $$`` take none;
* ``\\tag{x}`` prints "x" and leaves the counter alone;
* ``subequations`` gives its lines one parent number with letters a, b, c ...;
* ``\\numberwithin{equation}{section}`` prefixes the section number (letters after
  ``\\appendix``) and restarts the count in every section;
* ``\\setcounter{equation}{n}`` and ``\\renewcommand{\\theequation}{A.\\arabic{equation}}``
  are followed.

Unnumbered lines of a multi-line environment are kept with the numbered line they
belong to (the lines before it, and trailing ones with the last), as the PDF shows them
as one display. This is a best-effort reading: macros are not expanded, and an odd or
broken source yields fewer entries, never an exception.
"""

from __future__ import annotations

import gzip
import io
import re
import tarfile
from pathlib import Path

from surveyor.errors import InputError

__all__ = ["parse_latex_equations"]

_MAX_FILE_BYTES = 20_000_000
_TEX_SUFFIXES = (".tex", ".ltx", ".latex")


# --------------------------------------------------------------------------- reading


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _files_from_tar(data: bytes) -> dict[str, str]:
    files = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
        for member in tar.getmembers():
            if not member.isfile() or member.size > _MAX_FILE_BYTES:
                continue
            if not member.name.lower().endswith(_TEX_SUFFIXES):
                continue
            handle = tar.extractfile(member)
            if handle is not None:
                files[member.name.lstrip("./")] = _decode(handle.read())
    return files


def _files_from_folder(folder: Path) -> dict[str, str]:
    files = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix.lower() in _TEX_SUFFIXES:
            if path.stat().st_size <= _MAX_FILE_BYTES:
                files[path.relative_to(folder).as_posix()] = _decode(path.read_bytes())
    return files


def _files_from_blob(data: bytes, name: str) -> dict[str, str]:
    """arXiv serves a tarball, a gzipped tarball, or a single gzipped .tex file."""
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError):
            return {}
    try:
        return _files_from_tar(data)
    except tarfile.TarError:
        pass
    text = _decode(data)
    return {Path(name).with_suffix(".tex").name: text} if "\\" in text else {}


def _read_sources(source: Path) -> dict[str, str]:
    if source.is_dir():
        return _files_from_folder(source)
    return _files_from_blob(source.read_bytes(), source.name)


def _strip_comments(text: str) -> str:
    text = re.sub(r"(?<!\\)%.*", "", text)
    # Text that never reaches the PDF.
    text = re.sub(r"\\begin\s*\{comment\}.*?\\end\s*\{comment\}", "", text, flags=re.S)
    return re.sub(r"\\iffalse\b.*?\\fi\b", "", text, flags=re.S)


def _main_file(files: dict[str, str]) -> str | None:
    candidates = [n for n, t in files.items() if re.search(r"\\begin\s*\{document\}", _strip_comments(t))]
    if not candidates:
        return max(files, key=lambda n: len(files[n]), default=None)
    preferred = [n for n in candidates if Path(n).stem.lower() in ("main", "ms", "paper", "arxiv")]
    return (preferred or sorted(candidates, key=lambda n: -len(files[n])))[0]


_INPUT = re.compile(r"\\(?:input|include|subfile)\s*(?:\{([^}]+)\}|\s([^\s\\]+))")


def _flatten(files: dict[str, str], name: str, seen: set[str] | None = None) -> str:
    """The main file with \\input/\\include replaced by the files they name."""
    seen = seen if seen is not None else set()
    seen.add(name)
    text = _strip_comments(files[name])
    base = Path(name).parent

    def resolve(match: re.Match) -> str:
        target = (match.group(1) or match.group(2) or "").strip()
        for candidate in (base / target, Path(target)):
            for key in (candidate.as_posix(), candidate.as_posix() + ".tex"):
                key = key.lstrip("./")
                if key in files and key not in seen:
                    return _flatten(files, key, seen)
        return ""

    return _INPUT.sub(resolve, text)


# --------------------------------------------------------------------------- numbering

_MULTI_LINE_ENVS = ("align", "gather", "flalign", "alignat", "eqnarray")
_EVENT = re.compile(
    r"\\begin\s*\{(?P<env>equation|multline|align|gather|flalign|alignat|eqnarray|subequations)"
    r"(?P<star>\*?)\}"
    r"|\\end\s*\{subequations\}"
    r"|\\(?P<section>section)\s*\*?\s*(?:\[[^\]]*\])?\s*\{"
    r"|\\(?P<appendix>appendix)\b"
    r"|\\numberwithin\s*\{equation\}\s*\{(?P<within>\w+)\}"
    r"|\\setcounter\s*\{equation\}\s*\{(?P<setcounter>\d+)\}"
    r"|\\renewcommand\s*\{?\\theequation\}?\s*\{(?P<theequation>[^{}]*(?:\{[^{}]*\}[^{}]*)*)\}"
    r"|(?<!\\)\\\[|\$\$"  # "\[" but not the "\\[2pt]" of a line break
)
_NO_NUMBER = re.compile(r"\\(?:nonumber|notag)\b")
_TAG = re.compile(r"\\tag\*?\s*\{((?:[^{}]|\{[^{}]*\})*)\}")
_LABEL = re.compile(r"\\label\s*\{[^}]*\}")


class _Numbering:
    """LaTeX's equation counter, and how \\theequation prints it."""

    def __init__(self) -> None:
        self.counter = 0
        self.section = 0
        self.appendix = False
        self.within_section = False
        self.theequation: str | None = None  # a \renewcommand'ed format, "{n}" for the count
        self.sub_parent: str | None = None
        self.sub_index = 0

    def section_label(self) -> str:
        if self.appendix:
            return _letters(self.section)
        return str(self.section)

    def new_section(self, starred: bool) -> None:
        if starred:
            return
        self.section += 1
        if self.within_section:
            self.counter = 0

    def current(self) -> str:
        if self.theequation is not None:
            return self.theequation.replace("{s}", self.section_label()).replace(
                "{n}", str(self.counter)
            )
        if self.within_section:
            return f"{self.section_label()}.{self.counter}"
        return str(self.counter)

    def next(self) -> str:
        if self.sub_parent is not None:
            self.sub_index += 1
            return f"{self.sub_parent}{_letters(self.sub_index).lower()}"
        self.counter += 1
        return self.current()

    def begin_subequations(self) -> None:
        self.counter += 1
        self.sub_parent = self.current()
        self.sub_index = 0

    def end_subequations(self) -> None:
        self.sub_parent = None


def _letters(n: int) -> str:
    out = ""
    while n > 0:
        n, rem = divmod(n - 1, 26)
        out = chr(ord("A") + rem) + out
    return out or "0"


def _theequation_format(definition: str) -> str | None:
    """"A.\\arabic{equation}" -> "A.{n}"; None when it cannot be followed."""
    fmt = re.sub(r"\\arabic\s*\{equation\}", "{n}", definition)
    if "{n}" not in fmt:
        return None
    fmt = fmt.replace("\\thesection", "{s}")
    if re.search(r"\\[A-Za-z]", fmt):
        return None
    return fmt


def _split_lines(body: str) -> list[str]:
    """Split an align-like body on top-level \\\\ (not inside braces or nested envs)."""
    lines, depth, env_depth, start, i = [], 0, 0, 0, 0
    while i < len(body):
        if body.startswith("\\begin", i):
            env_depth += 1
            i += 6
            continue
        if body.startswith("\\end", i):
            env_depth -= 1
            i += 4
            continue
        ch = body[i]
        if ch == "\\" and body.startswith("\\\\", i):
            if depth == 0 and env_depth == 0:
                lines.append(body[start:i])
                i += 2
                skip = re.match(r"\*?\s*\[[^\]]*\]", body[i:])  # \\[2pt]
                i += skip.end() if skip else 0
                start = i
                continue
            i += 2
            continue
        if ch == "\\":
            i += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        i += 1
    lines.append(body[start:])
    return [line for line in lines if line.strip()]


def _clean(body: str) -> str:
    body = _LABEL.sub("", body)
    body = _NO_NUMBER.sub("", body)
    body = _TAG.sub("", body)
    return re.sub(r"\s+", " ", body).strip()


def _drop_alignment(line: str) -> str:
    """Remove the alignment "&" of an align line (not those of nested matrices or cases)."""
    out, env_depth, i = [], 0, 0
    while i < len(line):
        if line.startswith("\\begin", i):
            env_depth += 1
        elif line.startswith("\\end", i):
            env_depth -= 1
        if line[i] == "\\":
            out.append(line[i : i + 2])
            i += 2
            continue
        if not (line[i] == "&" and env_depth == 0):
            out.append(line[i])
        i += 1
    return re.sub(r"\s+", " ", "".join(out)).strip()


def _join(lines: list[str], env: str) -> str:
    cleaned = [_clean(line) for line in lines]
    cleaned = [line for line in cleaned if line]
    if len(cleaned) == 1:
        return _drop_alignment(cleaned[0])
    inner = " \\\\ ".join(cleaned)
    wrapper = "aligned" if "&" in inner else "gathered"
    return f"\\begin{{{wrapper}}} {inner} \\end{{{wrapper}}}"


def _number_lines(lines: list[str], numbering: _Numbering) -> list[tuple[str | None, str]]:
    """(printed number or None, line) for each line of a numbered environment."""
    out = []
    for line in lines:
        tag = _TAG.search(line)
        if tag:
            out.append((tag.group(1).strip(), line))
        elif _NO_NUMBER.search(line):
            out.append((None, line))
        else:
            out.append((numbering.next(), line))
    return out


def _group_lines(numbered: list[tuple[str | None, str]]) -> list[tuple[str, list[str]]]:
    """Attach unnumbered lines to the numbered line after them (trailing ones: before)."""
    groups: list[tuple[str, list[str]]] = []
    pending: list[str] = []
    for number, line in numbered:
        pending.append(line)
        if number is not None:
            groups.append((number, pending))
            pending = []
    if pending and groups:
        groups[-1][1].extend(pending)
    return groups


def _environment(env: str, body: str, numbering: _Numbering) -> list[tuple[str, str]]:
    if env in _MULTI_LINE_ENVS:
        lines = _split_lines(body)
        return [(n, _join(ls, env)) for n, ls in _group_lines(_number_lines(lines, numbering))]
    # equation and multline: one number for the whole body
    tag = _TAG.search(body)
    if tag:
        return [(tag.group(1).strip(), _clean(body))]
    if _NO_NUMBER.search(body):
        return []
    return [(numbering.next(), _clean(body))]


def _equations_in(text: str) -> dict[str, str]:
    numbering = _Numbering()
    found: dict[str, str] = {}
    pos = 0
    doc_start = re.search(r"\\begin\s*\{document\}", text)
    preamble_end = doc_start.end() if doc_start else 0
    while True:
        match = _EVENT.search(text, pos)
        if match is None:
            break
        pos = match.end()
        token = match.group(0)
        if match.group("env"):
            env, star = match.group("env"), match.group("star")
            if match.start() < preamble_end:
                continue  # inside a macro definition
            if env == "subequations":
                numbering.begin_subequations()
                continue
            end = re.compile(r"\\end\s*\{" + env + re.escape(star) + r"\}").search(text, pos)
            if end is None:
                break
            body = text[pos : end.start()]
            pos = end.end()
            if env == "alignat":
                body = re.sub(r"^\s*\{\d+\}", "", body)
            if star:
                continue
            for number, latex in _environment(env, body, numbering):
                found.setdefault(number, latex)
        elif token.startswith("\\end"):
            numbering.end_subequations()
        elif match.group("section"):
            if match.start() >= preamble_end:
                numbering.new_section(starred="*" in token)
        elif match.group("appendix"):
            if match.start() >= preamble_end:
                numbering.appendix = True
                numbering.section = 0
        elif match.group("within"):
            numbering.within_section = match.group("within") in ("section", "chapter")
        elif match.group("setcounter"):
            numbering.counter = int(match.group("setcounter"))
        elif match.group("theequation") is not None:
            fmt = _theequation_format(match.group("theequation"))
            if fmt is not None:
                numbering.theequation = fmt
        else:  # \[ ... \] or $$ ... $$: unnumbered display
            closer = "\\]" if token == "\\[" else "$$"
            end_at = text.find(closer, pos)
            pos = end_at + len(closer) if end_at >= 0 else pos
    return found


# --------------------------------------------------------------------------- public


def parse_latex_equations(source: Path) -> dict[str, str]:
    """Map printed equation numbers to LaTeX bodies from an arXiv source.

    ``source`` is a folder, a .tar/.tar.gz bundle, a gzipped single file, or a .tex
    file. Raises InputError only when ``source`` does not exist.
    """
    source = Path(source)
    if not source.exists():
        raise InputError(f"LaTeX source not found: {source}")
    try:
        files = _read_sources(source)
        main = _main_file(files)
        if main is None:
            return {}
        return _equations_in(_flatten(files, main))
    except (OSError, ValueError, tarfile.TarError, EOFError, RecursionError):
        return {}
