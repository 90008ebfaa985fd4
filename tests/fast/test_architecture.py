"""The layout holds: imports flow down the pipeline, dependencies are declared, the code is lint-clean."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PACKAGE = REPO / "src" / "surveyor"
# One job per module: a module that grows past this is doing two.
MAX_MODULE_LINES = 500


def _run(tool: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / tool), *args], cwd=REPO, capture_output=True, text=True, timeout=300)


def test_import_contracts_are_kept():
    done = _run("lint-imports")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_every_third_party_import_is_declared():
    done = _run("deptry", "src")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


def test_ruff_is_clean():
    done = _run("ruff", "check", "src", "tests", "bench")
    assert done.returncode == 0, done.stdout[-3000:]


def test_each_package_says_what_it_owns_and_may_import():
    for init in PACKAGE.rglob("__init__.py"):
        if init.parent == PACKAGE:
            continue
        text = init.read_text()
        assert text.startswith('"""') and "may import" in " ".join(text.lower().split()), \
            f"{init.relative_to(REPO)} lacks its docstring"


def test_no_module_does_two_jobs():
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"
