"""Take the README's screenshots of `surveyor serve` in the system Chromium.

Usage: python scripts/screenshots.py --home HOME [--topic distillation] [--question "..."] [--out docs]

HOME must hold an ingested corpus and a survey of the topic. Writes survey-math.png (the first
survey paper section with rendered MathML), cited-page.png (the page view a quoted citation of
that survey opens) and ask-answer.png (an `--llm none` answer with its highlighted cited pages).
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True)
    parser.add_argument("--topic", default="distillation")
    parser.add_argument("--question", default="How is the DistilBERT student initialized?")
    parser.add_argument("--out", default=str(REPO / "docs"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    server = subprocess.Popen([sys.executable, "-m", "surveyor", "--home", args.home, "serve", "--llm", "none",
                               "--port", str(port)], env=env)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/", timeout=5).read()
                break
            except OSError:
                time.sleep(0.1)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 960, "height": 640})
            page.goto(f"{base}/survey/{args.topic}")
            pair = page.locator("figure.pair", has=page.locator("math")).first
            heading = pair.locator("xpath=preceding::h4[1]")
            heading.scroll_into_view_if_needed()
            page.evaluate("window.scrollBy(0, -10)")
            page.screenshot(path=out / "survey-math.png")
            link = next(a for a in page.locator("a.cite").all() if len((a.get_attribute("title") or "").split()) >= 8)
            link.click()
            page.wait_for_load_state()
            page.set_viewport_size({"width": 960, "height": 900})
            page.evaluate("window.scrollTo(0, Math.max(0, document.getElementById('hl').getBoundingClientRect().top"
                          " + window.scrollY - 700))")
            page.screenshot(path=out / "cited-page.png")
            page.set_viewport_size({"width": 960, "height": 640})
            page.goto(f"{base}/")
            page.fill("input[name=q]", args.question)
            page.press("input[name=q]", "Enter")
            page.wait_for_selector(".citation", timeout=120_000)
            page.wait_for_load_state()
            page.screenshot(path=out / "ask-answer.png")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
    for name in ("survey-math.png", "cited-page.png", "ask-answer.png"):
        print(f"{out / name}: {(out / name).stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
