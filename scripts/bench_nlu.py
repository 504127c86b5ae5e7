"""NLU benchmark: stratified 5-fold cross-validation and parse latency.

Prints intent accuracy per fold and overall (plain vs. diacritic inputs), NLU
training wall time per fold, and parse latency p50/p99 of the trained model
``models/sct-assistant.tar.gz``. Run with ``make bench-nlu``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common.text import fold_key  # noqa: E402


def _folds(examples: list, k: int, seed: int) -> list[list]:
    """Stratified folds: each intent's examples dealt round-robin after a seeded shuffle."""
    by_intent = defaultdict(list)
    for ex in examples:
        by_intent[ex.get("intent")].append(ex)
    rng = random.Random(seed)
    folds: list[list] = [[] for _ in range(k)]
    for intent in sorted(by_intent):
        items = by_intent[intent]
        rng.shuffle(items)
        for i, ex in enumerate(items):
            folds[i % k].append(ex)
    return folds


async def _parse_all(model: str, texts: list[str]) -> tuple[list[dict], list[float]]:
    from rasa.core.agent import Agent

    agent = Agent.load(model)
    results, times = [], []
    for text in texts:
        start = time.perf_counter()
        results.append(await agent.parse_message(text))
        times.append((time.perf_counter() - start) * 1000)
    return results, times


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=8283)
    parser.add_argument("--config", default=str(ROOT / "config.yml"))
    parser.add_argument("--model", default=str(ROOT / "models" / "sct-assistant.tar.gz"))
    args = parser.parse_args()
    logging.disable(logging.WARNING)

    from rasa.model_training import train_nlu
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.training_data import TrainingData

    data = load_data(str(ROOT / "nlu_data" / "nlu"))
    examples = [ex for ex in data.intent_examples]
    print(f"{len(examples)} examples, {len(data.intents)} intents; {args.folds}-fold CV, seed {args.seed}")
    folds = _folds(examples, args.folds, args.seed)
    correct = {"plain": [0, 0], "diacritics": [0, 0]}
    train_times = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, test in enumerate(folds):
            train = [ex for j, fold in enumerate(folds) if j != i for ex in fold]
            train_file = Path(tmp) / f"train_{i}.yml"
            train_file.write_text(TrainingData(training_examples=train).nlu_as_yaml(), encoding="utf-8")
            start = time.perf_counter()
            model = train_nlu(args.config, str(train_file), tmp, fixed_model_name=f"fold{i}")
            train_times.append(time.perf_counter() - start)
            results, _ = asyncio.run(_parse_all(model, [ex.get("text") for ex in test]))
            hits = 0
            for ex, result in zip(test, results, strict=False):
                kind = "plain" if fold_key(ex.get("text")) == ex.get("text").lower() else "diacritics"
                ok = result["intent"]["name"] == ex.get("intent")
                hits += ok
                correct[kind][0] += ok
                correct[kind][1] += 1
            print(f"fold {i + 1}: accuracy {hits / len(test):.3f} ({hits}/{len(test)}), "
                  f"NLU training {train_times[-1]:.1f} s", flush=True)
    total = sum(c for c, _ in correct.values()), sum(n for _, n in correct.values())
    print(f"cross-validation intent accuracy: {total[0] / total[1]:.3f} ({total[0]}/{total[1]})")
    for kind, (c, n) in correct.items():
        print(f"  inputs {'without' if kind == 'plain' else 'with'} diacritics: {c / n:.3f} ({c}/{n})")
    print(f"NLU training wall time per fold: mean {statistics.mean(train_times):.1f} s")

    texts = [ex.get("text") for ex in examples]
    _, times = asyncio.run(_parse_all(args.model, texts))
    print(f"parse latency of {Path(args.model).name} over {len(times)} messages: "
          f"p50 {_pct(times, 0.5):.1f} ms, p99 {_pct(times, 0.99):.1f} ms")


if __name__ == "__main__":
    main()
