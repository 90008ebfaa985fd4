"""`surveyor results ID --json` on an ingested paper: DistilBERT's GLUE table as rows whose values are on their page."""
from __future__ import annotations

import json

from conftest import run_cli
from surveyor.grounding import quote_on_page
from surveyor.index.catalog import Catalog


def test_results_json_gives_glue_rows_on_their_page(ingested_home, tmp_path):
    done = run_cli(ingested_home, "results", "1910.01108", "--json", timeout=300)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["paper_id"] == "1910.01108" and found["tables"] >= 2
    glue = [r for r in found["rows"] if r["benchmark"] == "GLUE" and r["metric"] == "Score"]
    assert {r["method"]: r["value"] for r in glue}.get("DistilBERT") == "77.0"
    assert any(r["own"] for r in glue)
    catalog = Catalog(ingested_home / "index")
    try:
        for row in glue:
            page = catalog.page_text("1910.01108", row["page"])
            assert quote_on_page(row["value"], page) and quote_on_page(row["row_text"], page)
            assert row["caption"].startswith(f"Table {row['table']}:")
    finally:
        catalog.close()
