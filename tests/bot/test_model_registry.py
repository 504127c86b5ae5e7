"""Which model is live, candidate-vs-live comparison, and training jobs' state (unit level)."""

from __future__ import annotations

import os
import time

from bot.staff import models
from vn_nlu.evaluation import Example, Prediction, Report, compare


def _model(path, mtime: float):
    path.write_bytes(b"model")
    os.utime(path, (mtime, mtime))
    return path


def test_promotions_roll_back_and_a_rebuilt_default_model_wins(tmp_path) -> None:
    default = _model(tmp_path / "default.tar.gz", time.time() - 100)
    registry = models.Registry(tmp_path / "models", default)
    assert registry.live() == default and registry.previous() == []
    registry.candidates_dir.mkdir(parents=True)
    first = _model(registry.candidates_dir / "a.tar.gz", time.time())
    second = _model(registry.candidates_dir / "b.tar.gz", time.time())
    registry.promoted(first, "admin.so")
    registry.promoted(second, "admin.so")
    assert registry.live() == second and registry.previous() == [first, default]
    assert registry.rolled_back("admin.so") == first
    assert registry.live() == first and registry.previous() == [default]
    os.utime(default, (time.time() + 5, time.time() + 5))  # `make model` retrained after the promotion
    assert registry.live() == default
    first.unlink()
    assert registry.previous() == [default]  # files gone from disk are not offered


def test_comparison_lists_newly_fixed_and_newly_broken_examples() -> None:
    examples = [Example("a", "chao_hoi"), Example("b", "hoi_le_phi"), Example("c", "danh_gia")]

    def predictions(intents):
        return [Prediction(ex, intent, 0.9, (), 1.0) for ex, intent in zip(examples, intents, strict=True)]

    live = Report(predictions(["chao_hoi", "hoi_thu_tuc", "danh_gia"]))
    candidate = Report(predictions(["chao_hoi", "hoi_le_phi", "chao_hoi"]))
    result = compare(live, candidate)
    assert result["examples"] == 3
    assert result["fixed"] == [{"text": "b", "expected": "hoi_le_phi", "live": "hoi_thu_tuc",
                                "candidate": "hoi_le_phi"}]
    assert [r["text"] for r in result["broken"]] == ["c"]
    assert round(result["live"]["accuracy"], 3) == 0.667 and round(result["candidate"]["accuracy"], 3) == 0.667
    assert result["candidate"]["f1"]["hoi_le_phi"] == 1.0 and result["live"]["f1"]["hoi_le_phi"] == 0.0


def test_a_job_whose_process_died_shows_as_failed() -> None:
    now = time.time()
    running = models.Job("j", "training", 0.4, "…", "lan", now - 300, now - 1)
    assert running.public()["state"] == "training"
    dead = models.Job("j", "training", 0.4, "…", "lan", now - 300, now - models.STALE_AFTER_S - 1)
    assert dead.public()["state"] == "failed" and "bất thường" in dead.public()["error"]
    finished = models.Job("j", "done", 1.0, "Xong", "lan", now - 300, now - 10_000)
    assert finished.public()["state"] == "done"


def test_old_candidates_are_pruned_but_never_the_live_or_a_rollback_target(tmp_path) -> None:
    default = _model(tmp_path / "default.tar.gz", time.time() - 1000)
    registry = models.Registry(tmp_path / "models", default)
    registry.candidates_dir.mkdir(parents=True)
    made = []
    for i in range(6):
        model = _model(registry.candidates_dir / f"20261127-10000{i}.tar.gz", time.time())
        (registry.candidates_dir / f"20261127-10000{i}.json").write_text("{}")
        made.append(model)
    registry.promoted(made[0], "admin.so")
    registry.promoted(made[1], "admin.so")  # live; made[0] is what a rollback needs
    gone = registry.prune(keep=2)
    assert sorted(gone) == made[2:4]
    assert [m.exists() for m in made] == [True, True, False, False, True, True]
    assert not (registry.candidates_dir / "20261127-100002.json").exists()
