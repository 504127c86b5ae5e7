"""The held-out utterance sets (tests/nlu/heldout/ and the independent
tests/nlu/heldout2/ and tests/nlu/heldout3/, scored by `make eval-heldout`) parse
as Rasa NLU data and use only the domain's intents. No accuracy floor on purpose:
they are a measurement, and a floor would invite tuning on them."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from common.text import fold_key
from vn_nlu.evaluation import ROOT, load_examples

HELDOUT_DIRS = tuple(ROOT / "tests" / "nlu" / name for name in ("heldout", "heldout2", "heldout3"))
FILES = ("citizens.yml", "other_bots.yml")
CITIZENS = [d / "citizens.yml" for d in HELDOUT_DIRS]
OTHER_BOTS = [d / "other_bots.yml" for d in HELDOUT_DIRS]
SOURCE = re.compile(r"^# --- ([\w.-]+/[\w.-]+), (\S+)", re.MULTILINE)


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def _sources(path: Path) -> set[str]:
    """The repositories named by the source comments of an other-bots file."""
    return {repo for repo, _ in SOURCE.findall(path.read_text(encoding="utf-8"))}


def _domain_intents() -> set[str]:
    return set(yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))["intents"])


@pytest.mark.parametrize(
    ("path", "size"),
    [*((p, 300) for p in CITIZENS), *((p, 150) for p in OTHER_BOTS)],
    ids=[_id(p) for p in (*CITIZENS, *OTHER_BOTS)],
)
def test_file_parses_with_domain_intents_only(path: Path, size: int) -> None:
    examples = load_examples(path)
    assert len(examples) == size
    assert {e.intent for e in examples} <= _domain_intents()
    assert all(e.text.strip() for e in examples)
    repeated = [t for t, n in Counter(e.text.strip().lower() for e in examples).items() if n > 1]
    assert not repeated, f"repeated lines: {repeated}"


@pytest.mark.parametrize("path", CITIZENS, ids=_id)
def test_citizens_cover_every_intent(path: Path) -> None:
    counts = Counter(e.intent for e in load_examples(path))
    thin = {intent: counts[intent] for intent in _domain_intents() if counts[intent] < 8}
    assert not thin, f"intents with fewer than 8 citizen utterances: {thin}"


@pytest.mark.parametrize("path", OTHER_BOTS, ids=_id)
def test_other_bots_name_at_least_eight_source_repositories(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    repos = _sources(path)
    assert len(repos) >= 8, repos
    # every group of examples sits under a source comment
    assert text.index("# ---") < text.index("- intent:")


def _folded_lines(directory: Path) -> set[str]:
    return {fold_key(e.text) for name in FILES for e in load_examples(directory / name)}


@pytest.mark.parametrize(
    ("earlier", "later"),
    [(a, b) for i, b in enumerate(HELDOUT_DIRS) for a in HELDOUT_DIRS[:i]],
    ids=lambda d: d.name,
)
def test_each_set_is_independent_of_the_earlier_ones(earlier: Path, later: Path) -> None:
    """A later set measures something new only if it repeats none of an earlier
    set's lines (compared as the scorer compares them with the training data)
    nor its other-bot sources."""
    seen = _folded_lines(earlier)
    again = [e.text for name in FILES for e in load_examples(later / name) if fold_key(e.text) in seen]
    assert not again, f"lines of {later.name} already in {earlier.name}: {again}"
    shared = _sources(earlier / "other_bots.yml") & _sources(later / "other_bots.yml")
    assert not shared, shared


def test_the_other_bot_lines_are_mostly_out_of_scope() -> None:
    """Real traffic from other bots is mostly not the department's business; the
    third set keeps at least 60 % of it ngoai_pham_vi."""
    counts = Counter(e.intent for e in load_examples(HELDOUT_DIRS[2] / "other_bots.yml"))
    assert counts["ngoai_pham_vi"] >= 0.6 * sum(counts.values()), counts
