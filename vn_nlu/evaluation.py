"""NLU evaluation shared by `make eval-nlu`, `make bench-nlu`, the pipeline
comparison, the accuracy-floor test and the staff console's candidate-vs-live
comparison: load examples, train, parse, score, compare."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from common.text import fold_key  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TRAIN_DIR = ROOT / "nlu_data" / "nlu"
TEST_SET = ROOT / "tests" / "nlu" / "test_set.yml"
OOS_PROBE = ROOT / "tests" / "nlu" / "oos_probe.yml"  # a development set (see the file)
MODEL = ROOT / "models" / "sct-assistant.tar.gz"
SCORED_ENTITIES = ("ma_ho_so", "muc_do", "loai_dia_diem")
OUT_OF_SCOPE = "ngoai_pham_vi"
FALLBACK = "nlu_fallback"


@dataclass(frozen=True)
class Example:
    """A labelled message."""

    text: str
    intent: str
    entities: tuple[tuple[str, str], ...] = ()

    @property
    def plain(self) -> bool:
        """Typed without diacritics."""
        return fold_key(self.text) == self.text.lower().strip()


@dataclass
class Prediction:
    """What the model said about one example, and how long it took."""

    example: Example
    intent: str
    confidence: float
    entities: tuple[tuple[str, str], ...]
    ms: float
    ranking: tuple[tuple[str, float], ...] = ()  # classifier's ranking, fallback left out

    def with_threshold(self, threshold: float, ambiguity: float) -> str:
        """The intent a FallbackClassifier with these thresholds would give."""
        if not self.ranking:
            return self.intent
        (top, conf), second = self.ranking[0], (self.ranking[1][1] if len(self.ranking) > 1 else 0.0)
        if self.intent != FALLBACK and self.intent != top:  # set by a rule (a bare code)
            return self.intent
        return FALLBACK if conf < threshold or conf - second < ambiguity else top


def cold_training() -> None:
    """Switch off Rasa's training cache (``.rasa/``) for this process and its children, so
    that a timed training is a cold one: the cache replays the components an earlier run
    (``make model``, a previous comparison) trained on the same data."""
    os.environ["RASA_MAX_CACHE_SIZE"] = "0"


def load_examples(path: Path) -> list[Example]:
    """Examples of a Rasa NLU file or folder, with entity values."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    return [
        Example(
            text=m.get("text"),
            intent=m.get("intent"),
            entities=tuple((e["entity"], str(e.get("value", ""))) for e in m.get("entities") or []),
        )
        for m in data.intent_examples
    ]


def write_examples(examples: Iterable[Example], path: Path) -> None:
    """Write examples as Rasa YAML (entity annotations are not needed for training here)."""
    by_intent: dict[str, list[str]] = defaultdict(list)
    for ex in examples:
        by_intent[ex.intent].append(ex.text)
    import yaml

    blocks = [{"intent": i, "examples": "".join(f"- {t}\n" for t in texts)} for i, texts in by_intent.items()]
    path.write_text(yaml.safe_dump({"version": "3.1", "nlu": blocks}, allow_unicode=True), encoding="utf-8")


def stratified_folds(examples: list[Example], k: int, seed: int) -> list[list[Example]]:
    """Each intent's examples shuffled with ``seed`` and dealt round-robin into k folds."""
    by_intent: dict[str, list[Example]] = defaultdict(list)
    for ex in examples:
        by_intent[ex.intent].append(ex)
    rng = random.Random(seed)
    folds: list[list[Example]] = [[] for _ in range(k)]
    for intent in sorted(by_intent):
        items = list(by_intent[intent])
        rng.shuffle(items)
        for i, ex in enumerate(items):
            folds[i % k].append(ex)
    return folds


def train_nlu_model(config: Path, examples: list[Example], out_dir: Path, name: str) -> tuple[str, float]:
    """Train an NLU-only model on ``examples``; returns its path and the wall time."""
    from rasa.model_training import train_nlu

    data_file = out_dir / f"{name}.yml"
    write_examples(examples, data_file)
    start = time.perf_counter()
    logging.disable(logging.WARNING)
    model = train_nlu(str(config), str(data_file), str(out_dir), fixed_model_name=name)
    return str(model), time.perf_counter() - start


def predict(model: str | Path, examples: list[Example], progress=None) -> list[Prediction]:
    """Parse every example with a trained model (``progress(done, total)`` after each)."""
    return asyncio.run(_predict(str(model), examples, progress))


async def _predict(model: str, examples: list[Example], progress=None) -> list[Prediction]:
    from rasa.core.agent import Agent

    logging.disable(logging.WARNING)
    agent = Agent.load(model)
    await agent.parse_message("khởi động")  # first parse builds TF graphs: not a citizen's latency
    out = []
    for done, ex in enumerate(examples, 1):
        if progress is not None:
            progress(done, len(examples))
        start = time.perf_counter()
        parsed = await agent.parse_message(ex.text)
        ms = (time.perf_counter() - start) * 1000
        intent = parsed.get("intent") or {}
        entities = tuple((e["entity"], str(e.get("value", ""))) for e in parsed.get("entities") or [])
        ranking = tuple((r["name"], float(r["confidence"])) for r in parsed.get("intent_ranking") or []
                        if r["name"] != FALLBACK)
        out.append(Prediction(ex, intent.get("name") or FALLBACK, float(intent.get("confidence") or 0), entities, ms,
                              ranking))
    return out


@dataclass
class Report:
    """Scores of a set of predictions."""

    predictions: list[Prediction]
    per_intent: dict[str, tuple[float, float, float, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        gold = Counter(p.example.intent for p in self.predictions)
        predicted = Counter(p.intent for p in self.predictions)
        hits = Counter(p.intent for p in self.predictions if p.intent == p.example.intent)
        for intent in sorted(gold):
            precision = hits[intent] / predicted[intent] if predicted[intent] else 0.0
            recall = hits[intent] / gold[intent]
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            self.per_intent[intent] = (precision, recall, f1, gold[intent])

    @staticmethod
    def _accuracy(predictions: list[Prediction]) -> float:
        return sum(p.intent == p.example.intent for p in predictions) / max(len(predictions), 1)

    @property
    def accuracy(self) -> float:
        """Intent accuracy (a fallback counts as an error)."""
        return self._accuracy(self.predictions)

    @property
    def plain_accuracy(self) -> float:
        """Intent accuracy on inputs typed without diacritics."""
        return self._accuracy([p for p in self.predictions if p.example.plain])

    @property
    def diacritic_accuracy(self) -> float:
        """Intent accuracy on inputs typed with diacritics."""
        return self._accuracy([p for p in self.predictions if not p.example.plain])

    @property
    def out_of_scope_rate(self) -> float:
        """Share of out-of-scope inputs that fall back or map to ``ngoai_pham_vi``."""
        oos = sum(p.example.intent == OUT_OF_SCOPE for p in self.predictions)
        return 1 - len(self.out_of_scope_misses()) / max(oos, 1)

    def out_of_scope_misses(self) -> list[Prediction]:
        """Out-of-scope inputs taken for one of the assistant's services."""
        return [p for p in self.predictions
                if p.example.intent == OUT_OF_SCOPE and p.intent not in (OUT_OF_SCOPE, FALLBACK)]

    def entity_accuracy(self, entity: str) -> tuple[float, int]:
        """Share of gold ``entity`` values found with the right value, and their number."""
        gold = [(p, g) for p in self.predictions for g in p.example.entities if g[0] == entity]
        found = sum(g in p.entities for p, g in gold)
        return (found / len(gold) if gold else 1.0), len(gold)

    def errors(self) -> list[Prediction]:
        """Misclassified examples."""
        return [p for p in self.predictions if p.intent != p.example.intent]

    def latency(self, q: float) -> float:
        """Parse latency percentile in ms."""
        ordered = sorted(p.ms for p in self.predictions)
        return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]

    def summary_lines(self) -> list[str]:
        """The human-readable scores."""
        right, total = len(self.predictions) - len(self.errors()), len(self.predictions)
        lines = [
            f"intent accuracy: {self.accuracy:.3f} ({right}/{total})",
            f"  inputs without diacritics: {self.plain_accuracy:.3f} "
            f"({sum(p.example.plain for p in self.predictions)} inputs)",
            f"  inputs with diacritics:    {self.diacritic_accuracy:.3f}",
            f"  out of scope handled:      {self.out_of_scope_rate:.3f}",
        ]
        for entity in SCORED_ENTITIES:
            acc, n = self.entity_accuracy(entity)
            lines.append(f"entity {entity:<14} value accuracy: {acc:.3f} ({n} values)")
        return lines

    def table_lines(self) -> list[str]:
        """Per-intent precision, recall and F1."""
        lines = [f"{'intent':<22}{'precision':>10}{'recall':>9}{'f1':>8}{'n':>5}"]
        for intent, (p, r, f, n) in self.per_intent.items():
            lines.append(f"{intent:<22}{p:>10.3f}{r:>9.3f}{f:>8.3f}{n:>5}")
        return lines

    def confusion_png(self, path: Path, title: str) -> None:
        """Save the confusion matrix as an image."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        labels = sorted({p.example.intent for p in self.predictions} | {p.intent for p in self.predictions})
        index = {label: i for i, label in enumerate(labels)}
        matrix = [[0] * len(labels) for _ in labels]
        for p in self.predictions:
            matrix[index[p.example.intent]][index[p.intent]] += 1
        fig, ax = plt.subplots(figsize=(11, 9))
        ax.imshow(matrix, cmap="Blues")
        ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=8)
        ax.set_yticks(range(len(labels)), labels, fontsize=8)
        for i, row in enumerate(matrix):
            for j, value in enumerate(row):
                if value:
                    ax.text(j, i, value, ha="center", va="center", fontsize=7,
                            color="white" if value > max(map(max, matrix)) / 2 else "black")
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(title)
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
        plt.close(fig)


def cross_validate(config: Path, examples: list[Example], folds: int = 5, seed: int = 8283,
                   progress=print) -> tuple[Report, list[float]]:
    """Stratified k-fold cross-validation; returns the pooled report and training times."""
    predictions: list[Prediction] = []
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, test in enumerate(stratified_folds(examples, folds, seed)):
            held_out = set(test)
            train = [ex for ex in examples if ex not in held_out]
            model, seconds = train_nlu_model(config, train, Path(tmp), f"fold{i}")
            times.append(seconds)
            fold_predictions = predict(model, test)
            predictions += fold_predictions
            progress(f"  fold {i + 1}/{folds}: accuracy {Report(fold_predictions).accuracy:.3f}, "
                     f"training {seconds:.1f} s")
    return Report(predictions), times


def compare(live: Report, candidate: Report) -> dict:
    """Two models scored on the same examples: their scores side by side, and
    the examples the candidate newly gets right (``fixed``) or wrong (``broken``)."""
    def scores(report: Report) -> dict:
        return {"accuracy": report.accuracy, "plain_accuracy": report.plain_accuracy,
                "out_of_scope": report.out_of_scope_rate,
                "f1": {intent: f1 for intent, (_, _, f1, _) in report.per_intent.items()}}

    def row(before: Prediction, after: Prediction) -> dict:
        return {"text": before.example.text, "expected": before.example.intent,
                "live": before.intent, "candidate": after.intent}

    pairs = list(zip(live.predictions, candidate.predictions, strict=True))
    assert all(a.example == b.example for a, b in pairs), "both models must be scored on the same examples"
    return {
        "examples": len(pairs),
        "live": scores(live),
        "candidate": scores(candidate),
        "fixed": [row(a, b) for a, b in pairs if a.intent != a.example.intent and b.intent == b.example.intent],
        "broken": [row(a, b) for a, b in pairs if a.intent == a.example.intent and b.intent != b.example.intent],
    }
