"""The delivery form's first step against the real reference API: a dossier whose result cannot be
posted yet is told so before the form asks for a name, a phone and an address."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from rasa_sdk.executor import CollectingDispatcher

import actions.delivery
from actions.delivery import ActionChuyenPhat
from common.delivery import NEAR_RESULT_DAYS
from dossier_api.db import Database
from tests.actions.conftest import make_tracker


async def test_a_dossier_far_from_its_due_date_is_refused_before_the_form_asks_anything(
        api_url: str, seeded_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    [far], _ = Database(seeded_db).dossiers("dang_xu_ly", 1, 0)
    [near], _ = Database(seeded_db).dossiers("da_co_ket_qua", 1, 0)
    days_before = dt.timedelta(days=NEAR_RESULT_DAYS + 5)  # the department's clock, well before the due date
    monkeypatch.setattr(actions.delivery, "local_now", lambda: dt.datetime.combine(far.due_date - days_before,
                                                                                  dt.time(9)))
    dispatcher = CollectingDispatcher()
    entities = [{"entity": "ma_ho_so", "value": far.code}]
    events = await ActionChuyenPhat().run(
        dispatcher, make_tracker(f"gửi kết quả hồ sơ {far.code} về nhà", "chuyen_phat_ket_qua", entities), {})
    [message] = dispatcher.messages
    assert "chưa có kết quả" in message["text"] and far.code in message["text"] and events == []
    started = CollectingDispatcher()
    entities = [{"entity": "ma_ho_so", "value": near.code}]
    events = await ActionChuyenPhat().run(
        started, make_tracker(f"gửi kết quả hồ sơ {near.code} về nhà", "chuyen_phat_ket_qua", entities), {})
    assert started.messages == [] and {"event": "followup", "name": "chuyen_phat_form"} in [
        {k: e.get(k) for k in ("event", "name")} for e in events]
