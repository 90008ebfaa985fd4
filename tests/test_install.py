"""Installable anywhere: a wheel, installed non-editable into a fresh venv, runs from an unrelated folder.

The fresh venv gets the project's third-party packages through a .pth line (installing torch and
Chroma again would take minutes); surveyor itself comes only from the wheel, so its packaged
configs, topics and prompts must be found through importlib.resources, not the checkout.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from surveyor.index.embedder import default_onnx_path
from surveyor.settings import EmbeddingSettings

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("wheel")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                            "-w", str(root / "dist"), str(REPO)], capture_output=True, text=True, timeout=600,
                           cwd=root)
    assert build.returncode == 0, build.stderr[-2000:]
    shutil.rmtree(REPO / "build", ignore_errors=True)
    wheel = next((root / "dist").glob("surveyor-*.whl"))
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "project-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # Without PYTHONPATH: a checkout's src/ (with the egg-info the build leaves) would read as installed.
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
                          capture_output=True, text=True, timeout=600, env=clean)
    assert done.returncode == 0, done.stderr[-2000:]
    return venv


def _run(venv: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SURVEYOR_CONFIG_DIR", "SURVEYOR_PROMPTS_DIR")}
    return subprocess.run([str(venv / "bin" / "surveyor"), *args], capture_output=True, text=True, timeout=900,
                          cwd=cwd, env={**env, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                                        # the embedder graph `make setup` exported into the project's venv
                                        "SURVEYOR_EMBEDDER_ONNX": str(default_onnx_path(EmbeddingSettings()))})


def test_wheel_runs_topics_and_a_survey_from_an_unrelated_folder(installed, ingested_home, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = subprocess.run([str(installed / "bin" / "python"), "-c", "import surveyor; print(surveyor.__file__)"],
                           capture_output=True, text=True, cwd=elsewhere, check=True,
                           env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"}).stdout.strip()
    assert Path(where).is_relative_to(installed), where  # the wheel's copy, not the checkout

    topics = _run(installed, elsewhere, "topics")
    assert topics.returncode == 0, topics.stderr
    assert "distillation" in topics.stdout and len(topics.stdout.strip().splitlines()) == 6

    home = tmp_path / "home"
    shutil.copytree(ingested_home, home, symlinks=True)
    survey = _run(installed, elsewhere, "--home", str(home), "survey", "--topic", "distillation", "--llm", "none",
                  "--format", "md", "--quiet")
    assert survey.returncode == 0, survey.stderr[-3000:]
    latest = home / "surveys" / "distillation" / "latest" / "survey.md"
    assert latest.is_file() and "[1910.01108 p." in latest.read_text()
