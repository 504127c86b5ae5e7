"""The conversation suite (tests/conversations/*.yml) played against the whole real stack:
the share of conversations fully correct must not fall below the floor."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.eval_conversations import format_summary, load_suite, run_suite, summary, whole_stack, write_json

pytestmark = pytest.mark.e2e

# Share of the suite's conversations fully correct that the dialogue reaches today (rounded
# down); raise it as fixes land. The goal (issue 13) is 0.97 overall, 0.90 for every service.
# 95.7 % measured on 2026-12-01 (make eval-conversations), less the weekday variation of the appointments.
FLOOR = 0.97


def test_share_of_conversations_fully_correct_is_above_the_floor(tmp_path: Path) -> None:
    conversations = load_suite()
    assert len(conversations) >= 300
    with whole_stack(tmp_path) as stack:
        results = run_suite(stack, conversations)
    data = summary(results)
    write_json(data, tmp_path / "eval-conversations.json")
    report = format_summary(data)
    print(report)
    assert data["overall"]["share"] >= FLOOR, report
