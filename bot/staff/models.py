"""Candidate models: train one in the background, compare it with the live
model on the fixed test split, load it into the running Rasa server, roll back.

A training job runs in its own process (``python -m bot.staff run-job <id>``,
started by the console; ``python -m bot.staff train`` runs one in the
foreground) and writes its progress to Redis (``staff:training:<id>``), with a
heartbeat: a job whose process died shows as failed instead of running forever.
One job at a time (a Redis lock). Candidates and their comparison reports are
files under ``MODELS_DIR/candidates``; which model is live and the ones before
it are in ``MODELS_DIR/registry.json``, so a restarted Rasa loads the promoted
model (``python -m bot.staff live-model``, used by the Procfile).

Promotion is Rasa's ``PUT /model``: the new agent is loaded while the old one
keeps answering, then swapped in; conversations live in the Redis tracker
store, so none is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from clients.rasa import RasaClient, RasaUnavailable
from common.dates import local_now
from common.settings import Settings
from common.text import as_str

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
JOB_KEY = "staff:training:{}"
LAST_JOB = "staff:training:last"
LOCK = "staff:training:lock"
PROMOTION_LOCK = "staff:models:lock"
LOCK_TTL_S = 3600
HEARTBEAT_S = 5
STALE_AFTER_S = 60  # no heartbeat for this long: the job's process is gone
KEEP_PREVIOUS = 10
KEEP_CANDIDATES = 20  # candidate models kept on disk (about 0.2 MB each)
JOB_ID = re.compile(r"\d{8}-\d{6}", re.ASCII)  # new_job_id's form: anything else names no job


ALREADY_LIVE = "Mô hình này đang được sử dụng; không có gì thay đổi (nút “Quay lại” vẫn trả về mô hình trước nó)."


class ModelError(Exception):
    """A promotion or rollback that cannot be done; the message is for staff (Vietnamese)."""


def _resolve(path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else ROOT / p


# -- which model is live ------------------------------------------------------


@dataclass
class Registry:
    """``registry.json``: the live model and the ones it replaced (most recent first)."""

    models_dir: Path
    default: Path

    @classmethod
    def from_settings(cls, settings: Settings) -> Registry:
        return cls(_resolve(settings.models_dir), _resolve(settings.model_path))

    @property
    def path(self) -> Path:
        return self.models_dir / "registry.json"

    @property
    def candidates_dir(self) -> Path:
        return self.models_dir / "candidates"

    def _read(self) -> dict[str, Any]:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def _write(self, record: dict[str, Any]) -> None:
        self.models_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, ensure_ascii=False, indent=2), encoding="utf-8")
        os.replace(tmp, self.path)  # a crash leaves the old record or the new one, never half

    def live(self) -> Path:
        """The promoted model, unless ``make model`` rebuilt the default one since (newest wins)."""
        record = self._read()
        live = Path(record["live"]) if record.get("live") else None
        if live is None or not live.exists():
            return self.default
        if self.default.exists() and self.default.stat().st_mtime > float(record.get("promoted_at", 0)):
            return self.default
        return live

    def promotion(self) -> dict[str, Any]:
        """The last promotion or rollback: ``live``, ``promoted_at`` (epoch seconds), ``by``; {} when none."""
        return self._read()

    def previous(self) -> list[Path]:
        return [Path(p) for p in self._read().get("previous", []) if Path(p).exists()]

    def promoted(self, model: Path, by: str) -> None:
        old = self.live()
        if old.resolve() == model.resolve():  # already live: a rollback must not "go back" to it
            return
        previous = [str(old)] + [str(p) for p in self.previous() if p != model and p != old]
        self._write({"live": str(model), "previous": previous[:KEEP_PREVIOUS], "promoted_at": time.time(),
                     "by": by})

    def rolled_back(self, by: str) -> Path:
        previous = self.previous()
        if not previous:
            raise ModelError("Không có mô hình trước đó để quay lại.")
        self._write({"live": str(previous[0]), "previous": [str(p) for p in previous[1:]],
                     "promoted_at": time.time(), "by": by})
        return previous[0]

    def report(self, job_id: str) -> dict[str, Any] | None:
        """The comparison report of a candidate (None when unknown)."""
        if not JOB_ID.fullmatch(job_id):
            return None
        path = self.candidates_dir / f"{job_id}.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    def prune(self, keep: int = KEEP_CANDIDATES) -> list[Path]:
        """Delete candidates (model and report) beyond the newest ``keep``, except the live model
        and the ones a rollback may need; returns the models deleted."""
        needed = {self.live().resolve(), *(p.resolve() for p in self.previous())}
        models = sorted(self.candidates_dir.glob("*.tar.gz"), reverse=True)  # job ids sort by time
        gone = [m for m in models[keep:] if m.resolve() not in needed]
        for model in gone:
            model.unlink()
            model.with_name(model.name.replace(".tar.gz", ".json")).unlink(missing_ok=True)
        return gone

    def reports(self, limit: int = 10) -> list[dict[str, Any]]:
        paths = sorted(self.candidates_dir.glob("*.json"), reverse=True)[:limit]
        return [json.loads(p.read_text(encoding="utf-8")) for p in paths]


# -- jobs ------------------------------------------------------------------------


@dataclass
class Job:
    id: str
    state: str  # queued, training, evaluating, done, failed
    progress: float
    message: str
    by: str
    started_at: float
    updated_at: float
    error: str = ""

    @property
    def stale(self) -> bool:
        return self.state not in ("done", "failed") and time.time() - self.updated_at > STALE_AFTER_S

    def public(self) -> dict[str, Any]:
        """As the console shows it (a dead process is a failure)."""
        data = asdict(self)
        if self.stale:
            data.update(state="failed", error="Tiến trình huấn luyện đã dừng bất thường; anh/chị hãy chạy lại.")
        return data


def new_job_id(now: dt.datetime | None = None) -> str:
    return (now or local_now()).strftime("%Y%m%d-%H%M%S")


def _job(fields: dict) -> Job | None:
    if not fields:
        return None
    f = {as_str(k): as_str(v) for k, v in fields.items()}
    return Job(f["id"], f["state"], float(f["progress"]), f["message"], f["by"], float(f["started_at"]),
               float(f["updated_at"]), f.get("error", ""))


async def get_job(redis: Any, job_id: str) -> Job | None:
    return _job(await redis.hgetall(JOB_KEY.format(job_id)))


async def last_job(redis: Any) -> Job | None:
    job_id = await redis.get(LAST_JOB)
    return await get_job(redis, as_str(job_id)) if job_id else None


def _initial(job_id: str, by: str) -> dict[str, str]:
    now = str(time.time())
    return {"id": job_id, "state": "queued", "progress": "0", "message": "Đang chờ bắt đầu", "by": by,
            "started_at": now, "updated_at": now, "error": ""}


async def start_job(redis: Any, by: str) -> Job | None:
    """Start a training job in its own process; None when one is already running."""
    job_id = new_job_id()
    if not await redis.set(LOCK, job_id, nx=True, ex=LOCK_TTL_S):
        current = await get_job(redis, as_str(await redis.get(LOCK) or b""))
        if current is None or not current.stale:
            return None
        await redis.set(LOCK, job_id, ex=LOCK_TTL_S)  # the holder died: take over
    pipe = redis.pipeline(transaction=True)
    pipe.hset(JOB_KEY.format(job_id), mapping=_initial(job_id, by))
    pipe.expire(JOB_KEY.format(job_id), 30 * 86400)
    pipe.set(LAST_JOB, job_id)
    await pipe.execute()
    await asyncio.to_thread(_spawn, job_id)  # file and process creation: off the event loop
    logger.info("staff %s started training job %s", by, job_id)
    return await get_job(redis, job_id)


def _spawn(job_id: str) -> None:
    log = ROOT / "var" / f"training-{job_id}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        subprocess.Popen([sys.executable, "-m", "bot.staff", "run-job", job_id], cwd=ROOT, stdout=out,
                         stderr=subprocess.STDOUT, start_new_session=True)


class Reporter:
    """The job process's side: progress into Redis (synchronous client), with a heartbeat."""

    def __init__(self, redis: Any, job_id: str) -> None:
        self.redis = redis
        self.key = JOB_KEY.format(job_id)
        self._stop = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat, daemon=True)

    def __enter__(self) -> Reporter:
        self._beat.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            try:
                self.redis.hset(self.key, "updated_at", str(time.time()))
            except Exception:  # noqa: BLE001 - a missed beat is not worth a crash
                logger.warning("training heartbeat not recorded")

    def update(self, state: str, progress: float, message: str, error: str = "") -> None:
        self.redis.hset(self.key, mapping={"state": state, "progress": f"{progress:.3f}", "message": message,
                                           "updated_at": str(time.time()), "error": error})


class _TrainingProgress(logging.Handler):
    """Rasa logs each graph component it trains (or restores from its cache)."""

    def __init__(self, total: int, step) -> None:
        super().__init__(logging.INFO)
        self.total, self.done, self.step = max(total, 1), 0, step

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if text.startswith(("Finished training component", "Restored component")):
            self.done += 1
            self.step(min(self.done / self.total, 1.0), text.split("'")[1] if "'" in text else "")


def training_data(settings: Settings) -> list[str]:
    """The repository's training data, plus the inbox's directory when it lies elsewhere."""
    data = ROOT / "nlu_data"
    inbox_dir = _resolve(settings.nlu_data_dir)
    paths = [str(data)]
    if inbox_dir.exists() and not inbox_dir.resolve().is_relative_to(data.resolve()):
        paths.append(str(inbox_dir))
    return paths


def run_job(job_id: str, settings: Settings, redis: Any) -> dict[str, Any] | None:
    """Train the candidate, score it and the live model on the fixed test split, write the report."""
    import yaml

    from vn_nlu.evaluation import Report, compare, load_examples, predict

    registry = Registry.from_settings(settings)
    with Reporter(redis, job_id) as reporter:
        try:
            reporter.update("training", 0.02, "Đang chuẩn bị dữ liệu huấn luyện")
            config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
            steps = len(config.get("pipeline", [])) + len(config.get("policies", []))
            progress = _TrainingProgress(steps, lambda share, name: reporter.update(
                "training", 0.05 + 0.6 * share, f"Đang huấn luyện: {name}"))
            started = time.perf_counter()
            model = _train(job_id, settings, registry, progress)
            seconds = time.perf_counter() - started
            test = load_examples(_resolve(settings.nlu_test_set))
            live_model = registry.live()
            reporter.update("evaluating", 0.66, "Đang chấm mô hình đang chạy trên tập kiểm thử")
            live = Report(predict(live_model, test, lambda done, total: reporter.update(
                "evaluating", 0.66 + 0.15 * done / total, f"Mô hình đang chạy: {done}/{total} câu")))
            candidate = Report(predict(model, test, lambda done, total: reporter.update(
                "evaluating", 0.81 + 0.15 * done / total, f"Mô hình mới: {done}/{total} câu")))
            report = {"job": job_id, "created_at": local_now().isoformat(timespec="seconds"),
                      "by": as_str(redis.hget(JOB_KEY.format(job_id), "by") or b""),
                      "candidate_model": str(model), "live_model": str(live_model),
                      "train_seconds": round(seconds, 1), **compare(live, candidate)}
            path = registry.candidates_dir / f"{job_id}.json"
            path.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
            registry.prune()
            reporter.update("done", 1.0, "Xong.")
            return report
        except Exception as exc:
            logger.exception("training job %s failed", job_id)
            reporter.update("failed", 1.0, "Huấn luyện thất bại", f"{type(exc).__name__}: {exc}"[:500])
            return None
        finally:
            if as_str(redis.get(LOCK) or b"") == job_id:
                redis.delete(LOCK)


def _train(job_id: str, settings: Settings, registry: Registry, progress: logging.Handler) -> Path:
    from rasa.model_training import train

    hooks = logging.getLogger("rasa.engine.training.hooks")
    hooks.addHandler(progress)
    hooks.setLevel(logging.INFO)
    try:
        result = train(domain=str(ROOT / "domain.yml"), config=str(ROOT / "config.yml"),
                       training_files=training_data(settings), output=str(registry.candidates_dir),
                       fixed_model_name=job_id)
    finally:
        hooks.removeHandler(progress)
    if result.code != 0 or not result.model:
        raise RuntimeError(f"rasa train exited with {result.code}")
    return Path(result.model)


# -- promotion -----------------------------------------------------------------


async def load_into_rasa(settings: Settings, model: Path) -> None:
    """Rasa's ``PUT /model`` on every replica: load ``model`` while the current one keeps answering;
    when one replica refuses, the others go back to the live model."""
    rasa = RasaClient.from_settings(settings)
    live = await asyncio.to_thread(Registry.from_settings(settings).live)
    try:
        await rasa.load_model(str(model), restore=str(live))
    except RasaUnavailable as exc:
        logger.error("Rasa did not load model %s: %s", model.name, exc)
        raise ModelError("Máy chủ Rasa không nạp được mô hình; mô hình đang chạy không thay đổi.") from exc
    finally:
        await rasa.close()


async def promote(redis: Any, settings: Settings, job_id: str, by: str) -> Path:
    """Put a candidate live (one promotion or rollback at a time)."""
    registry = Registry.from_settings(settings)
    report = await asyncio.to_thread(registry.report, job_id)
    if report is None or not Path(report["candidate_model"]).exists():
        raise ModelError("Không tìm thấy mô hình ứng viên này.")
    model = Path(report["candidate_model"])
    if (await asyncio.to_thread(registry.live)).resolve() == model.resolve():
        raise ModelError(ALREADY_LIVE)
    async with _promotion_lock(redis):
        await load_into_rasa(settings, model)
        await asyncio.to_thread(registry.promoted, model, by)
    logger.info("staff %s promoted model %s", by, model.name)
    return model


async def rollback(redis: Any, settings: Settings, by: str) -> Path:
    """Put the model live before the current one back."""
    registry = Registry.from_settings(settings)
    async with _promotion_lock(redis):
        previous = await asyncio.to_thread(registry.previous)
        if not previous:
            raise ModelError("Không có mô hình trước đó để quay lại.")
        await load_into_rasa(settings, previous[0])
        model = await asyncio.to_thread(registry.rolled_back, by)
    logger.info("staff %s rolled back to model %s", by, model.name)
    return model


@contextlib.asynccontextmanager
async def _promotion_lock(redis: Any) -> AsyncIterator[None]:
    if not await redis.set(PROMOTION_LOCK, 1, nx=True, ex=600):
        raise ModelError("Một thao tác đổi mô hình khác đang chạy; anh/chị vui lòng đợi.")
    try:
        yield
    finally:
        await redis.delete(PROMOTION_LOCK)
