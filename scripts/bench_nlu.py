"""`make bench-nlu`: full training wall time (`rasa train`, NLU and dialogue),
5-fold cross-validation accuracy of the training data, and parse latency
p50/p99 of the trained model over the training and test messages."""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vn_nlu import evaluation as ev  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", type=Path, default=ev.ROOT / "config.yml")
    parser.add_argument("--no-cv", action="store_true")
    args = parser.parse_args()
    ev.cold_training()
    rasa = Path(sys.executable).parent / "rasa"

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        subprocess.run(
            [str(rasa), "train", "--data", "nlu_data", "--config", str(args.config), "--domain", "domain.yml",
             "--out", tmp, "--fixed-model-name", "bench"],
            cwd=ev.ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        print(f"full training (rasa train, NLU + dialogue): {time.perf_counter() - start:.1f} s wall time")
        examples = ev.load_examples(ev.TRAIN_DIR) + ev.load_examples(ev.TEST_SET)
        report = ev.Report(ev.predict(Path(tmp) / "bench.tar.gz", examples))
    print(f"parse latency over {len(examples)} messages: p50 {report.latency(0.5):.1f} ms, "
          f"p99 {report.latency(0.99):.1f} ms")
    if not args.no_cv:
        train = ev.load_examples(ev.TRAIN_DIR)
        cv, times = ev.cross_validate(args.config, train)
        print(f"5-fold cross-validation intent accuracy: {cv.accuracy:.3f} "
              f"(without diacritics {cv.plain_accuracy:.3f}, with {cv.diacritic_accuracy:.3f}); "
              f"NLU training per fold: mean {statistics.mean(times):.1f} s")


if __name__ == "__main__":
    main()
