"""`make eval-nlu`: seeded stratified 5-fold cross-validation of the training
data, then the fixed test split (tests/nlu/test_set.yml), with per-intent
precision/recall/F1, confusion matrices (PNG), accuracy with and without
diacritics, out-of-scope handling and entity value accuracy."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vn_nlu.evaluation import (  # noqa: E402
    OOS_PROBE,
    ROOT,
    TEST_SET,
    TRAIN_DIR,
    Report,
    cross_validate,
    load_examples,
    predict,
    train_nlu_model,
)


def _print_report(title: str, report: Report, png: Path) -> None:
    print(f"\n== {title} ==")
    for line in report.summary_lines() + [""] + report.table_lines():
        print(line)
    report.confusion_png(png, title)
    print(f"confusion matrix: {png.relative_to(ROOT) if png.is_relative_to(ROOT) else png}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", type=Path, default=ROOT / "config.yml")
    parser.add_argument("--model", type=Path, default=None, help="model for the test split (default: train one)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=8283)
    parser.add_argument("--no-cv", action="store_true", help="skip the cross-validation")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "nlu")
    args = parser.parse_args()

    train = load_examples(TRAIN_DIR)
    test = load_examples(TEST_SET)
    print(f"config {args.config.name}: {len(train)} training examples, {len(test)} test examples, "
          f"{len({e.intent for e in train})} intents")
    if not args.no_cv:
        print(f"{args.folds}-fold stratified cross-validation (seed {args.seed}):")
        report, _ = cross_validate(args.config, train, args.folds, args.seed)
        _print_report("cross-validation", report, args.out / "confusion_cv.png")

    with tempfile.TemporaryDirectory() as tmp:
        model = args.model
        if model is None:
            model_path, seconds = train_nlu_model(args.config, train, Path(tmp), "full")
            model = Path(model_path)
            print(f"\ntrained on all training data in {seconds:.1f} s")
        report = Report(predict(model, test))
        probe = Report(predict(model, load_examples(OOS_PROBE)))
    _print_report("fixed test split", report, args.out / "confusion_test.png")
    _print_errors("misclassified test examples", report.errors())
    print(f"\n== out-of-scope probe (development set, {OOS_PROBE.relative_to(ROOT)}) ==\n"
          f"out of scope handled: {probe.out_of_scope_rate:.3f} ({len(probe.predictions)} inputs)")
    _print_errors("taken for a service", probe.out_of_scope_misses())


def _print_errors(title: str, predictions: list) -> None:
    if predictions:
        print(f"\n{title} ({len(predictions)}):")
        for p in predictions:
            print(f"  {p.example.intent:<20} -> {p.intent:<20} {p.confidence:.2f}  {p.example.text}")


if __name__ == "__main__":
    main()
