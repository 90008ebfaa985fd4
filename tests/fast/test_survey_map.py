"""The survey's map of the field without models: family-name candidates and the benchmark normaliser."""
from __future__ import annotations

from surveyor.write.survey.families import phrases
from surveyor.write.survey.results import benchmark_of as benchmark_key


def test_phrases_are_noun_runs_inside_one_clause():
    # Sentences as printed in 2212.00193 and 2305.02301 (corpus papers).
    found = phrases("In this paper, we propose a knowledge distillation approach that leverages the step-by-step "
                    "CoT reasoning capabilities of larger models and distills these abilities into smaller models.")
    assert "knowledge distillation" in found and "cot reasoning" in found
    assert not any(k.startswith(("we ", "propose", "this paper")) for k in found)
    assert "step-by-step" not in found  # an adjective compound alone names no family
    found = phrases("We introduce Distilling step-by-step, a new mechanism that (a) trains smaller models")
    assert all("(" not in k and "," not in k for k in found)
    assert "new mechanism" not in found  # "new" never starts a name


def test_benchmark_key_drops_sizes_splits_and_metrics():
    assert benchmark_key("SST-2 (67k) acc") == ("sst2", "SST-2")
    assert benchmark_key("GSM8K acc.")[0] == benchmark_key("GSM8K")[0] == "gsm8k"
    assert benchmark_key("MATH-500 pass@1")[0] == "math500"
    for header in ("Size", "#Params (M)", "Avg", "(105k) acc", "1.1 F1", "Throughput"):
        assert benchmark_key(header) is None, header
