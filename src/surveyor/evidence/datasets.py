"""Benchmark / dataset names and result numbers in a sentence, found deterministically."""
from __future__ import annotations

import functools
import re
from collections import Counter

from surveyor.evidence.sections import Sentence

_NOT_RESULT_NUMBERS = re.compile(
    r"(?:Table|Tab\.|Figure|Fig\.|Section|Sec\.|Eq\.|Eqs\.|Equation|Appendix|Algorithm|Step|Stage)\s*[A-Z]?\d+"
    r"(?:\.\d+)*|\[[^\]]{0,80}\]|\((?:19|20)\d\d[a-z]?\)|\b(?:19|20)\d\d\b|\(\d+\)", re.I)


def result_numbers(text: str) -> list[str]:
    """Numbers that can be results (83.1%, 79.8, 0.45), not references to tables, sections, years or citations."""
    text = _NOT_RESULT_NUMBERS.sub(" ", text)
    for name in _names(text):
        text = text.replace(name, " ")  # the 500 of MATH-500 is part of a name
    return re.findall(r"(?<![\w.@-])\d+(?:\.\d+)?%|(?<![\w.@-])\d+\.\d+(?![\w.])|(?<![\w.@-])\d{2,}(?![\w.])", text)


_DATA_NOUN = (r"(?:data ?sets?|benchmarks?|test[- ]?sets?|test split|dev(?:elopment)? sets?|validation sets?|"
              r"corpus|corpora|suite|leaderboard|challenge|games|environments?|tasks?|splits?)")
_NAME_NOUN = re.compile(r"(?:Corpus|Benchmark|Environment|Dataset|Test|Challenge|Bench|Suite|Gym)s?")
# A name starts with a capital, or with one or two small letters before one (e-SNLI, iNaturalist); inside it
# may carry - . _ and, before a capital, / or ; (CNN/Daily, TL;DR, MMLU_PRO).
_TOKEN = re.compile(r"(?<![\w@-])(?:[A-Z]|[a-z]{1,2}-?[A-Z])[A-Za-z0-9_]*(?:(?:[-.]|[/;](?=[A-Z]))[A-Za-z0-9_]+)*(?<!\.)")
_YEAR_AFTER = re.compile(r"\s+((?:19|20)\d\d)\b")
_SPLIT_AFTER = re.compile(r"\s+(test-clean|test-other|dev-clean|dev-other|Diamond|Verified|Lite|Hard|Pro|"
                          r"v\d+(?:\.\d+)*|\d+\.\d+)(?!\w|\.\d)")
_ORGS = frozenset("OpenAI Google Meta DeepMind Microsoft NVIDIA".split())  # may lead a name: OpenAI Gym
# Citations between list members ("Winogender (Rudinger et al., 2018) and CrowS-Pairs [40]") hide the list.
_CITATION = re.compile(r"\s*\[\d+(?:\s*[,–-]\s*\d+)*\]|\s*\((?=[^()]{0,120}\b(?:19|20)\d\d[a-z]?\s*\))[^()]*\)")
_EVAL_BEFORE = re.compile(
    r"(?:evaluat\w*|test\w*|results?|performance|accuracy|scores?|achiev\w*|outperform\w*|benchmark\w*|pass@\d+|"
    r"top-?\d|points|%|state-of-the-art|SOTA|improv\w*|gains?|surpass\w*|fine-?tun\w*|(?:pre-?)?train\w*|"
    r"experiments?|perplexity|BLEU|WER|F1|EM)\W+(?:[\w\-@.%]+\W+){0,3}?on\s+(?:the\s+)?$", re.I)
_LIST_BEFORE = re.compile(rf"{_DATA_NOUN}\s*(?:\(|:|,?\s*(?:such as|including|includes?|like|namely|e\.g\.,?|"
                          rf"are|were)\s*:?)\s*$", re.I)
_NOUN_AFTER = re.compile(rf"\)?\s+(?:(?:and|or|,)\s+[\w.;/\-]+\s+)?(?:[\w.\-]+\s+)?{_DATA_NOUN}\b", re.I)
# TruthfulQA, MMBench, AlpacaEval; all-capital "GQA" may as well be grouped-query attention.
_KNOWN_SUFFIX = re.compile(r"^(?=.*[a-z]).+(?:QA|Bench|bench|Eval|EVAL|Arena)$")
_BENCHMARK_WORDS = frozenset({"Arena", "Bench", "Eval", "QA"})
_VENUES = re.compile(
    r"^(?:NeurIPS|NIPS|ICLR|ICML|ACL|EMNLP|NAACL|EACL|COLING|CVPR|ICCV|ECCV|AAAI|IJCAI|KDD|SIGIR|TACL|JMLR|"
    r"Interspeech|INTERSPEECH|ICASSP|ASRU|SLT|CoRL|ICRA|IROS|arXiv|ArXiv|January|February|March|April|May|June|"
    r"July|August|September|October|November|December|Table|Figure|Section|Appendix|Version)$")
# Generic acronyms, metrics and model families that sit where dataset names do ("trained on GPUs").
_NOT_DATASETS = frozenset(
    "GPU GPUs TPU TPUs CPU CPUs API APIs NLP NLU NLG LLM LLMs RL SFT AI ML CV ASR TTS RLHF RLAIF KL FLOPs SOTA CoT "
    "VQA MLLM MLLMs VLM VLMs LM LMs FP16 BF16 FP32 RAM URL PDF JSON HTML SGD Adam AdamW BERT GPT PPO TRPO DPO GRPO "
    "LoRA ViT ViTs CNN CNNs RNN RNNs LSTM MLP MoE OpenAI Google Meta DeepMind Microsoft NVIDIA We Our The This In "
    "For On To As An At By Of With Each All Both These Those Finally First Second Third Moreover However Table "
    "Figure Fig Section Sec Appendix Eq English Chinese I II III IV V F1 EM BLEU ROUGE WER CER mAP AUC FID Pass Top "
    "MSE MAE PSNR SSIM Acc Avg QA Various Different Several Multiple Other Standard Public Common Popular New "
    "Many Existing Downstream Evaluation Training Test Validation Main Additional Selected Full".split())


def _is_namey(token: str) -> bool:
    """A token shaped like a dataset name: acronym, CamelCase, or letters with digits (GLUE, ImageNet, GSM8K)."""
    if token in _NOT_DATASETS or _VENUES.match(token) or len(token) < 3:
        return False  # "M1", "L2": model and norm labels, not names
    if any(c.isdigit() for c in token) or _KNOWN_SUFFIX.search(token):
        return True
    parts = token.split("-")
    if any(part in _BENCHMARK_WORDS for part in parts):
        return True  # Arena-Hard
    # Capitals inside a part make a name (ImageNet, GLUE, MMLU-Pro); "Knowledge-Based" is an adjective.
    return any(sum(c.isupper() for c in part) >= 2 for part in parts)


def _runs(text: str) -> list[list[re.Match]]:
    """Capitalised tokens, grouped into runs separated by single spaces ("Toronto Book Corpus")."""
    runs: list[list[re.Match]] = []
    for match in _TOKEN.finditer(text):
        if runs and text[runs[-1][-1].end():match.start()] == " ":
            runs[-1].append(match)
        else:
            runs.append([match])
    return runs


def _with_suffixes(name: str, after: str) -> str:
    """Add a year or a split written right after the name ("AIME 2024", "LibriSpeech test-clean")."""
    for pattern in (_YEAR_AFTER, _SPLIT_AFTER):
        match = pattern.match(after)
        if match:
            name, after = f"{name} {match[1]}", after[match.end():]
    return name


def _plain(word: str) -> bool:
    return re.fullmatch(r"[A-Z][a-z]{2,}", word) is not None and word not in _NOT_DATASETS


def _candidates(text: str):
    """(name, start, end, how) for each name-shaped phrase in the text.

    how: True when its shape or the word after it says dataset ("Toronto Book Corpus", "Atari
    games"), False for a name-shaped token (GLUE, ImageNet), None for ordinary capitalised words
    mid-sentence ("Codeforces", "Stanford Cars"), which only a list or an evaluation phrase makes names.
    """
    for run in _runs(text):
        words = [m.group(0) for m in run]
        # "Toronto Book Corpus", "Arcade Learning Environment": a capitalised dataset word ends the name.
        lead = next((i for i, w in enumerate(words) if w not in _NOT_DATASETS or w in _ORGS), len(words))
        if len(words) - lead >= 2 and _NAME_NOUN.fullmatch(words[-1]):
            yield " ".join(words[lead:]), run[lead].start(), run[-1].end(), True
            continue
        # "CNN/Daily Mail": a name and ordinary words after it, right before a dataset word.
        if 2 <= len(words) <= 4 and _is_namey(words[0]) and all(_plain(w) for w in words[1:]) and \
                _NOUN_AFTER.match(text[run[-1].end():]):
            yield " ".join(words), run[0].start(), run[-1].end(), True
            continue
        i = 0
        while i < len(words):
            if not _is_namey(words[i]):
                i += 1
                continue
            j = i + 1
            while j < len(words) and _is_namey(words[j]):
                j += 1
            yield " ".join(words[i:j]), run[i].start(), run[j - 1].end(), False
            i = j
        # Ordinary capitalised words ("Atari", "Open Assistant", "Stanford Cars") mid-sentence.
        if len(words) <= 3 and all(_plain(w) for w in words):
            before = text[:run[0].start()]
            if before.strip() and not re.search(r"[.!?:]\s*$", before):
                after_noun = re.match(rf"\s+{_DATA_NOUN}\b", text[run[-1].end():]) is not None
                yield " ".join(words), run[0].start(), run[-1].end(), True if after_noun else None


def _continues_list(text: str, previous_end: int, start: int, end: int) -> bool:
    """"on GLUE, SQuAD and IMDb": a list continues what its first member started.

    After a bare comma the list must go on (another comma, "and", a bracket, the end), so that
    "On MMLU and GPQA, DeepSeek-R1 achieves ..." does not take the subject for a benchmark.
    """
    if previous_end < 0:
        return False
    link = re.sub(r"^\s*\([^()]{0,100}\)", "", text[previous_end:start])  # "EuroSAT (RGB satellite images), ISIC"
    if re.fullmatch(r"\s*,?\s*(?:and|or)\s+(?:on\s+)?(?:the\s+)?", link):
        return True
    list_goes_on = re.match(r"\s*(?:\([^()]{0,100}\)\s*|[a-z]+\s*)?(?:[,;).]|and\b|or\b|$)", text[end:]) is not None
    return re.fullmatch(r"\s*,\s*", link) is not None and list_goes_on


def dataset_names_in(text: str) -> list[str]:
    """Benchmark / dataset names in a sentence, deterministically, in order of first occurrence.

    A name-shaped phrase (acronym, CamelCase, letters with digits) counts when a dataset word
    follows it ("the GLUE benchmark"), when an evaluation phrase leads to it ("79.8% on AIME
    2024", "evaluated on ImageNet"), when it carries a year ("AIME 2024"), when its shape says
    benchmark (TruthfulQA, LiveCodeBench), or when it continues a list that started so. Ordinary
    capitalised words count only in such a list or after such a phrase ("... and Codeforces").
    Citations are read past ("Winogender (Rudinger et al., 2018) and CrowS-Pairs [40]").
    """
    text = _CITATION.sub("", text)
    found: list[str] = []
    previous_end = -1
    for name, start, end, how in _candidates(text):
        before, after = text[:start], text[end:]
        full = _with_suffixes(name, after)
        listed = (_EVAL_BEFORE.search(before) is not None or _LIST_BEFORE.search(before) is not None
                  or _continues_list(text, previous_end, start, start + len(full)))
        accepted = listed if how is None else (
            how
            or full != name and _YEAR_AFTER.match(after) is not None
            or _NOUN_AFTER.match(after) is not None
            or _KNOWN_SUFFIX.search(name.split()[-1]) is not None
            or listed
        )
        if accepted:
            previous_end = start + len(full)
            if full not in found:
                found.append(full)
    return found


@functools.lru_cache(maxsize=16384)
def _names(text: str) -> tuple[str, ...]:
    """dataset_names_in, cached: every field's scorer asks about the same sentences."""
    return tuple(dataset_names_in(text))


def _dataset_name_counts(sentences: list[Sentence]) -> Counter:
    """In how many sentences of the paper each plausible name occurs (its weight as a main benchmark).

    A plain capitalised word that the paper also writes in lower case ("Standard" / "standard")
    is an ordinary word at a sentence's start, not a name; "Atari" never appears as "atari".
    """
    lower_words = {w for s in sentences for w in re.findall(r"\b[a-z]+\b", s.text)}
    counts: Counter = Counter()
    for s in sentences:
        counts.update({n for n in _names(s.text)
                       if not (re.fullmatch(r"[A-Z][a-z]+", n) and n.lower() in lower_words)})
    return counts
