"""Measure the retrieval (``make eval-faq``, tests/knowledge/test_eval.py).

The evaluation set (tests/knowledge/eval_set.yml) is written apart from the
knowledge base. The decline threshold is chosen on another set: the NLU's
out-of-scope examples (other agencies' matters, chat, gibberish), which were
written for the intent classifier, not for this base.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from knowledge.retrieval import Retriever, timed

ROOT = Path(__file__).resolve().parent.parent
EVAL_SET = ROOT / "tests" / "knowledge" / "eval_set.yml"
NLU_DIR = ROOT / "nlu_data" / "nlu"
OOS_INTENT = "ngoai_pham_vi"


@dataclass
class Result:
    """What the retriever did with the evaluation set."""

    correct: int = 0  # answerable questions answered with the expected entry
    top1: int = 0  # ... whose best hit is the expected entry, answered or not
    answerable: int = 0
    declined: int = 0
    unanswerable: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        """Share of answerable questions answered with the right entry."""
        return self.correct / self.answerable

    @property
    def declined_rate(self) -> float:
        """Share of unanswerable questions the bot declined."""
        return self.declined / self.unanswerable

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies_ms)

    @property
    def p95_ms(self) -> float:
        return statistics.quantiles(self.latencies_ms, n=20)[-1]

    def lines(self) -> list[str]:
        """The figures, as ``make eval-faq`` prints them."""
        return [
            f"answerable:   {self.correct}/{self.answerable} answered with the right entry "
            f"({self.accuracy:.1%}); best hit right {self.top1}/{self.answerable} ({self.top1 / self.answerable:.1%})",
            f"unanswerable: {self.declined}/{self.unanswerable} declined ({self.declined_rate:.1%})",
            f"latency:      p50 {self.p50_ms:.2f} ms, p95 {self.p95_ms:.2f} ms per question",
        ]


def load_eval_set(path: Path = EVAL_SET) -> tuple[list[tuple[str, str]], list[str]]:
    """(question, expected entry id) pairs and the unanswerable questions."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [(str(x["q"]), str(x["id"])) for x in raw["answerable"]], [str(q) for q in raw["unanswerable"]]


def evaluate(retriever: Retriever, path: Path = EVAL_SET) -> Result:
    """Run every question of the evaluation set through ``retriever.answer``."""
    answerable, unanswerable = load_eval_set(path)
    result = Result(answerable=len(answerable), unanswerable=len(unanswerable))
    for question, expected in answerable:
        hit, ms = timed(retriever, question)
        result.latencies_ms.append(ms)
        best = retriever.search(question, limit=1)
        result.top1 += bool(best) and best[0].entry.id == expected
        if hit is not None and hit.entry.id == expected:
            result.correct += 1
        else:
            got = f"{hit.entry.id} ({hit.score:.2f})" if hit else f"declined (best {best[0].score:.2f})"
            result.misses.append(f"answerable  {question!r}: {got}, expected {expected}")
    for question in unanswerable:
        hit, ms = timed(retriever, question)
        result.latencies_ms.append(ms)
        if hit is None:
            result.declined += 1
        else:
            result.misses.append(f"unanswerable {question!r}: {hit.entry.id} ({hit.score:.2f})")
    return result


def out_of_scope_examples(nlu_dir: Path = NLU_DIR) -> list[str]:
    """The NLU's ``ngoai_pham_vi`` training examples (the tuning set of the threshold)."""
    examples: list[str] = []
    for path in sorted(nlu_dir.glob("*.yml")):
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu") or []:
            if block.get("intent") == OOS_INTENT:
                examples += [ln.strip()[2:] for ln in block["examples"].splitlines() if ln.strip().startswith("- ")]
    return examples


def tuned_threshold(retriever: Retriever, examples: list[str], decline: float = 0.95) -> float:
    """The lowest threshold (0.01 steps) that declines ``decline`` of ``examples``."""
    scores = sorted(hits[0].score if (hits := retriever.search(q, limit=1)) else 0.0 for q in examples)
    index = min(len(scores) - 1, int(decline * len(scores)))
    return round(scores[index] + 0.005, 2)
