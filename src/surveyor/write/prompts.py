"""Prompts live as files in prompts/<name>.txt so they can be read, diffed and versioned.

File format::

    # Lines starting with '#' before the first section are comments.
    [system]
    You are a careful technical writer.
    [user]
    Question: {question}

    Evidence:
    {evidence}

A `[system]` and a `[user]` section, each a `str.format` template over named
fields (write literal braces as `{{` and `}}`). Leading and trailing blank lines
of a section are dropped. `Prompt.sha256` hashes the file's bytes, so a survey
can record exactly which prompt wrote it.
"""
from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from surveyor.errors import SurveyorError
from surveyor.settings import prompts_dir

SECTIONS = ("system", "user")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_HEADER = re.compile(r"^\[(\w+)\]\s*$")


@dataclass(frozen=True)
class Prompt:
    """A parsed prompt file: two templates and the hash of the file they came from."""

    name: str
    path: Path
    system: str
    user: str
    sha256: str
    fields: frozenset[str] = field(default=frozenset())

    def render(self, **values: Any) -> tuple[str, str]:
        """(system, user) with every {field} filled; a field left without a value is an error."""
        missing = sorted(self.fields - values.keys())
        if missing:
            raise SurveyorError(f"prompt {self.name!r} ({self.path}) needs field(s) {', '.join(missing)}")
        return self.system.format_map(values), self.user.format_map(values)


def load_prompt(name: str, directory: str | Path | None = None) -> Prompt:
    """Read prompts/<name>.txt (directory defaults to settings.prompts_dir())."""
    if not _NAME.match(name):
        raise SurveyorError(f"bad prompt name {name!r}: letters, digits, '-' and '_' only")
    path = Path(directory if directory is not None else prompts_dir()) / f"{name}.txt"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SurveyorError(f"prompt {name!r} not found at {path}") from None
    except OSError as exc:
        raise SurveyorError(f"prompt {name!r} at {path} cannot be read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SurveyorError(f"prompt {name!r} at {path} is not UTF-8") from None
    sections = _parse_sections(text, path)
    return Prompt(
        name=name,
        path=path,
        system=sections["system"],
        user=sections["user"],
        sha256=hashlib.sha256(raw).hexdigest(),
        fields=frozenset(_field_names(sections["system"], path) | _field_names(sections["user"], path)),
    )


def _parse_sections(text: str, path: Path) -> dict[str, str]:
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            section = header.group(1)
            if section not in SECTIONS:
                raise SurveyorError(f"{path}:{number}: unknown section [{section}]; expected [system] and [user]")
            if section in sections:
                raise SurveyorError(f"{path}:{number}: section [{section}] appears twice")
            current = sections[section] = []
        elif current is not None:
            current.append(line)
        elif line.strip() and not line.lstrip().startswith("#"):
            raise SurveyorError(f"{path}:{number}: text before the first section; start with [system]")
    missing = [s for s in SECTIONS if s not in sections]
    if missing:
        raise SurveyorError(f"{path}: missing section(s) {', '.join(f'[{s}]' for s in missing)}")
    return {name: "\n".join(lines).strip("\n") for name, lines in sections.items()}


def _field_names(template: str, path: Path) -> set[str]:
    """Named fields of a str.format template; positional or malformed fields are errors."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise SurveyorError(f"{path}: bad template ({exc}); write literal braces as {{{{ and }}}}") from None
    names = set()
    for _, field_name, _, _ in parsed:
        if field_name is None:
            continue
        root = re.split(r"[.\[]", field_name, maxsplit=1)[0]
        if not root or root.isdigit():
            raise SurveyorError(f"{path}: positional field {{{field_name}}}; use named fields like {{question}}")
        names.add(root)
    return names
