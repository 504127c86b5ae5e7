"""`make eval-heldout`: score the trained model on the held-out utterance sets
(issue 13), a measurement and not a test: tests/nlu/heldout/ and the
independent sets tests/nlu/heldout2/ and tests/nlu/heldout3/, each with citizens.yml (citizens'
messages written outside the training data) and other_bots.yml (verbatim lines
of other public Vietnamese chatbots, labelled with our intents).

For each file: intent accuracy (a fallback counts as an error), accuracy on
inputs typed with and without diacritics, the out-of-scope recognition rate
(strict: read as ``ngoai_pham_vi``; lenient: or left to the fallback), the
in-scope messages wrongly declined, per-intent precision/recall/F1, the lines
that also occur in the training data (and the accuracy without them), and every
error as ``utterance → got (conf) → expected``.

Never tune on these files: once a line has been used to change the NLU it is no
longer held out.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common.text import fold_key  # noqa: E402
from vn_nlu.evaluation import (  # noqa: E402
    FALLBACK,
    MODEL,
    OUT_OF_SCOPE,
    ROOT,
    TRAIN_DIR,
    Prediction,
    Report,
    load_examples,
    predict,
)

HELDOUT_DIRS = tuple(ROOT / "tests" / "nlu" / name for name in ("heldout", "heldout2", "heldout3"))
DEFAULT_FILES = tuple(d / name for d in HELDOUT_DIRS for name in ("citizens.yml", "other_bots.yml"))


def _rate(hits: int, total: int) -> str:
    return f"{hits / total:.3f} ({hits}/{total})" if total else "n/a (0)"


def out_of_scope_lines(predictions: list[Prediction]) -> list[str]:
    """Out-of-scope recognition (strict and lenient) and in-scope messages declined."""
    oos = [p for p in predictions if p.example.intent == OUT_OF_SCOPE]
    strict = sum(p.intent == OUT_OF_SCOPE for p in oos)
    lenient = sum(p.intent in (OUT_OF_SCOPE, FALLBACK) for p in oos)
    in_scope = [p for p in predictions if p.example.intent != OUT_OF_SCOPE]
    declined = sum(p.intent == OUT_OF_SCOPE for p in in_scope)
    return [
        f"  out of scope recognised as {OUT_OF_SCOPE}: {_rate(strict, len(oos))}",
        f"  out of scope as {OUT_OF_SCOPE} or fallback: {_rate(lenient, len(oos))}",
        f"  in-scope messages declined as {OUT_OF_SCOPE}: {_rate(declined, len(in_scope))}",
    ]


def error_lines(predictions: list[Prediction]) -> list[str]:
    """Every misclassified example, grouped by expected intent."""
    errors = sorted((p for p in predictions if p.intent != p.example.intent),
                    key=lambda p: (p.example.intent, p.intent, p.example.text))
    return [f"  {p.example.text} → {p.intent} ({p.confidence:.2f}) → {p.example.intent}" for p in errors]


def confusion_lines(predictions: list[Prediction], top: int = 15) -> list[str]:
    """The most frequent (expected → got) confusions."""
    pairs = Counter((p.example.intent, p.intent) for p in predictions if p.intent != p.example.intent)
    return [f"  {n:>3}  {gold} → {got}" for (gold, got), n in pairs.most_common(top)]


def report_lines(name: str, predictions: list[Prediction], seen: set[str], show_seen: bool = False) -> list[str]:
    """The whole report of one held-out file."""
    report = Report(predictions)
    unseen = [p for p in predictions if fold_key(p.example.text) not in seen]
    overlap = len(predictions) - len(unseen)
    lines = [f"== {name} ==", *report.summary_lines()[:4]]
    lines += out_of_scope_lines(predictions)
    lines += [
        f"  lines also in the training data (folded): {overlap}; accuracy without them: "
        f"{Report._accuracy(unseen):.3f} ({len(unseen)} lines)",
        f"  parse latency p50 {report.latency(0.5):.1f} ms, p99 {report.latency(0.99):.1f} ms",
        "", *report.table_lines(),
        "", "most frequent confusions (expected → got):", *confusion_lines(predictions),
        "", f"errors ({len(report.errors())}): utterance → got (conf) → expected", *error_lines(predictions),
        "",
    ]
    if show_seen:
        lines += ["held-out lines also in the training data (folded):",
                  *(f"  {p.example.text}" for p in predictions if fold_key(p.example.text) in seen), ""]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", type=Path, default=list(DEFAULT_FILES), help="Rasa NLU YAML files")
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--show-seen", action="store_true", help="list the held-out lines found in the training data")
    args = parser.parse_args()
    if not args.model.exists():
        sys.exit(f"no trained model at {args.model}: run `make model`")
    import structlog  # Rasa's parse logs go through structlog, which prints everything unless configured

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    examples = {path: load_examples(path) for path in args.files}
    everything = [e for batch in examples.values() for e in batch]
    predictions = predict(args.model, everything)  # one model load for all files
    seen = {fold_key(e.text) for e in load_examples(TRAIN_DIR)}
    start = 0
    for path, batch in examples.items():
        part = predictions[start:start + len(batch)]
        start += len(batch)
        resolved = path.resolve()
        name = resolved.relative_to(ROOT) if resolved.is_relative_to(ROOT) else path
        print("\n".join(report_lines(str(name), part, seen, args.show_seen)))


if __name__ == "__main__":
    main()
