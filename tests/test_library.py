"""The README's library example runs as written."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import copy_papers

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_library_example_runs(tmp_path):
    block = re.search(r"## Library\n.*?```python\n(.*?)```", README.read_text(), re.S)
    assert block, "README has no Library section with a python example"
    code = block.group(1)
    assert len(code.strip().splitlines()) <= 12
    copy_papers(["1910.01108", "1707.06347"], tmp_path / "papers")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "2 papers added" in out
    assert re.search(r"\[1707\.06347 p\.\d+\]", out)  # the answer cites PPO's page
    assert "supported" in out
