"""Compare candidate NLU pipelines on the same evaluation (5-fold CV of the
training data, then the fixed test split) and print a Markdown table.

    python scripts/compare_pipelines.py scripts/pipelines/*.yml
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vn_nlu.evaluation import (  # noqa: E402
    TEST_SET,
    TRAIN_DIR,
    Report,
    cold_training,
    cross_validate,
    load_examples,
    predict,
    train_nlu_model,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("configs", nargs="+", type=Path)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    cold_training()
    train = load_examples(TRAIN_DIR)
    test = load_examples(TEST_SET)
    rows = []
    header = ("| pipeline | CV accuracy | CV out of scope | test accuracy | test, no diacritics | "
              "test out of scope | NLU training (s) | parse p50 / p99 (ms) |")
    for config in args.configs:
        print(f"{config.name}:", flush=True)
        cv, _ = cross_validate(config, train, args.folds, progress=lambda line: print(line, flush=True))
        with tempfile.TemporaryDirectory() as tmp:
            model, seconds = train_nlu_model(config, train, Path(tmp), "full")
            report = Report(predict(model, test))
        row = (f"| `{config.stem}` | {cv.accuracy:.3f} | {cv.out_of_scope_rate:.3f} | {report.accuracy:.3f} | "
               f"{report.plain_accuracy:.3f} | "
               f"{report.out_of_scope_rate:.3f} | {seconds:.1f} | "
               f"{report.latency(0.5):.1f} / {report.latency(0.99):.1f} |")
        print(row, flush=True)
        rows.append(row)
    print("\n" + header + "\n|---|---|---|---|---|---|---|---|\n" + "\n".join(rows))


if __name__ == "__main__":
    main()
