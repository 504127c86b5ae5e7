"""The held-out utterance sets (tests/nlu/heldout/, scored by `make eval-heldout`)
parse as Rasa NLU data and use only the domain's intents. No accuracy floor on
purpose: they are a measurement, and a floor would invite tuning on them."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from vn_nlu.evaluation import ROOT, load_examples

HELDOUT = ROOT / "tests" / "nlu" / "heldout"
CITIZENS = HELDOUT / "citizens.yml"
OTHER_BOTS = HELDOUT / "other_bots.yml"
SOURCE = re.compile(r"^# --- ([\w.-]+/[\w.-]+), (\S+)", re.MULTILINE)


def _domain_intents() -> set[str]:
    return set(yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))["intents"])


@pytest.mark.parametrize(("path", "size"), [(CITIZENS, 300), (OTHER_BOTS, 150)], ids=["citizens", "other bots"])
def test_file_parses_with_domain_intents_only(path: Path, size: int) -> None:
    examples = load_examples(path)
    assert len(examples) == size
    assert {e.intent for e in examples} <= _domain_intents()
    assert all(e.text.strip() for e in examples)
    repeated = [t for t, n in Counter(e.text.strip().lower() for e in examples).items() if n > 1]
    assert not repeated, f"repeated lines: {repeated}"


def test_citizens_cover_every_intent() -> None:
    counts = Counter(e.intent for e in load_examples(CITIZENS))
    thin = {intent: counts[intent] for intent in _domain_intents() if counts[intent] < 8}
    assert not thin, f"intents with fewer than 8 citizen utterances: {thin}"


def test_other_bots_name_at_least_eight_source_repositories() -> None:
    text = OTHER_BOTS.read_text(encoding="utf-8")
    repos = {repo for repo, _ in SOURCE.findall(text)}
    assert len(repos) >= 8, repos
    # every group of examples sits under a source comment
    assert text.index("# ---") < text.index("- intent:")
