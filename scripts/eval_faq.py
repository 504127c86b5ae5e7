"""`make eval-faq`: top-1 accuracy of the policy Q&A retrieval on the answerable
questions of tests/knowledge/eval_set.yml, the share of unanswerable ones declined,
and the latency per question. `--tune` prints the decline threshold chosen on the
NLU's out-of-scope examples (not on the evaluation set)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from knowledge.evaluation import EVAL_SET, evaluate, out_of_scope_examples, tuned_threshold  # noqa: E402
from knowledge.loader import load  # noqa: E402
from knowledge.retrieval import DEFAULT_THRESHOLD, Retriever  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--eval-set", type=Path, default=EVAL_SET)
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--tune", action="store_true", help="print the threshold the tuning set gives")
    parser.add_argument("--misses", action="store_true", help="list every question handled wrongly")
    args = parser.parse_args()

    start = time.perf_counter()
    kb = load()
    retriever = Retriever(kb, threshold=args.threshold)
    print(f"knowledge base: {len(kb.entries)} entries in {len(kb.topics)} topics, "
          f"{sum(e.review_needed for e in kb.entries)} marked for review; "
          f"index built in {(time.perf_counter() - start) * 1000:.0f} ms")
    if args.tune:
        examples = out_of_scope_examples()
        threshold = tuned_threshold(retriever, examples)
        print(f"tuning: threshold {threshold} declines 95 % of {len(examples)} out-of-scope NLU examples "
              f"(in use: {DEFAULT_THRESHOLD})")
        retriever.threshold = threshold
    result = evaluate(retriever, args.eval_set)
    print(f"threshold {retriever.threshold}")
    for line in result.lines():
        print(line)
    if args.misses:
        print("\n".join(result.misses))


if __name__ == "__main__":
    main()
