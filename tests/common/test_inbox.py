"""The NLU inbox: recording low-confidence messages, masking, batch files staff confirm into."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message

from common import inbox
from common.settings import get_settings
from vn_nlu.components import InboxRecorder

DAY = dt.date(2026, 11, 27)


@pytest.fixture
def redis_env(monkeypatch: pytest.MonkeyPatch):
    """Point the recorder (it reads the settings) at another Redis for one test."""
    def use(url: str) -> None:
        monkeypatch.setenv("REDIS_URL", url)
        get_settings.cache_clear()

    yield use
    get_settings.cache_clear()


def test_recorder_keeps_only_citizens_low_confidence_messages(redis_url: str, redis_env) -> None:
    import redis

    redis_env(redis_url)
    sync = redis.Redis.from_url(redis_url)
    sync.delete(inbox.STREAM)
    recorder = InboxRecorder({"threshold": 0.6})
    messages = [
        Message({"text": "cho hỏi cái này", "intent": {"name": "hoi_bot", "confidence": 0.41},
                 "metadata": {"sender": "zalo:77"}}),
        Message({"text": "xin chào", "intent": {"name": "chao_hoi", "confidence": 0.97},
                 "metadata": {"sender": "zalo:77"}}),
        Message({"text": "asdf", "intent": {"name": "nlu_fallback", "confidence": 0.9},
                 "metadata": {"sender": "sms:84905123456"}}),
        Message({"text": "đánh giá không có người gửi", "intent": {"name": "danh_gia", "confidence": 0.2}}),
    ]
    recorder.process(messages)
    rows = sync.xrange(inbox.STREAM)
    assert [(f[b"text"].decode(), f[b"channel"], f[b"intent"]) for _, f in rows] == [
        ("cho hỏi cái này", b"zalo", b"hoi_bot"), ("asdf", b"sms", b"nlu_fallback")]
    assert all(b"sender" not in f for _, f in rows)  # the channel, not who


def test_button_presses_never_enter_the_inbox_and_count_their_payloads_intent(redis_url: str, redis_env) -> None:
    import redis

    from common import stats

    redis_env(redis_url)
    sync = redis.Redis.from_url(redis_url)
    sync.delete(inbox.STREAM, inbox.LAST_PARSE.format("web:btn1"))
    today = stats.local_now().date()
    before = int(sync.hget(stats.key(today, stats.INTENTS), "danh_gia") or 0)
    InboxRecorder({"threshold": 0.6}).process([  # the pipeline's own guess for a payload is noise
        Message({"text": '/danh_gia{"muc_do": "hai_long"}', "intent": {"name": "nlu_fallback", "confidence": 0.2},
                 "metadata": {"sender": "web:btn1"}})])
    assert sync.xrange(inbox.STREAM) == [] and sync.get(inbox.LAST_PARSE.format("web:btn1")) is None
    assert int(sync.hget(stats.key(today, stats.INTENTS), "danh_gia")) == before + 1


def test_recorder_never_fails_the_parse_when_redis_is_down(redis_env) -> None:
    redis_env("redis://127.0.0.1:9/0")
    message = Message({"text": "?", "intent": {"name": "nlu_fallback", "confidence": 0.3},
                       "metadata": {"sender": "web:x"}})
    assert InboxRecorder({"threshold": 0.6}).process([message]) == [message]


async def test_items_are_masked_and_taken_once(redis_url: str) -> None:
    redis = aioredis.from_url(redis_url)
    try:
        await redis.delete(inbox.STREAM)
        text = "sđt 0905123456, hồ sơ 000.00.12.H17-261120-0001 sao rồi"
        await redis.xadd(inbox.STREAM, inbox.record_fields(text, "telegram:5", "tra_cuu_ho_so", 0.5,
                                                           dt.datetime(2026, 11, 27, 9)))
        [item] = await inbox.items(redis)
        assert "0905123456" not in item.masked and "261120" not in item.masked and "<MÃ HỒ SƠ>" in item.masked
        # Redis never held the citizen's number: a number of the same shape stands in for it.
        stored = b"".join(v for _, f in await redis.xrange(inbox.STREAM) for v in f.values())
        assert b"0900000000" in stored and b"0905123456" not in stored
        assert (await inbox.take(redis, item.id)).text == text.replace("0905123456", "0900000000")
        assert await inbox.take(redis, item.id) is None and await inbox.items(redis) == []
    finally:
        await redis.close()


def test_confirmed_examples_go_to_a_valid_batch_file_without_duplicates(tmp_path: Path) -> None:
    (tmp_path / "base.yml").write_text('version: "3.1"\nnlu:\n- intent: chao_hoi\n  examples: |\n    - xin chào\n',
                                       encoding="utf-8")
    assert inbox.add_example(tmp_path, "chao_hoi", "Xin chao", DAY) is None  # folds to a known example
    path = inbox.add_example(tmp_path, "hoi_le_phi", "phí làm giấy phép bán gas là bao nhiêu", DAY)
    inbox.add_example(tmp_path, "hoi_le_phi", "bán gas thì đóng lệ phí mấy", DAY)
    inbox.add_example(tmp_path, "tam_biet", "thôi mình đi nhé", DAY)
    assert inbox.add_example(tmp_path, "tam_biet", "thôi mình đi nhé", DAY) is None
    assert path == tmp_path / "inbox_20261127.yml" and "    - bán gas thì đóng lệ phí mấy" in path.read_text()
    data = load_data(str(path))  # Rasa reads it
    assert sorted((m.get("intent"), m.get("text")) for m in data.intent_examples) == [
        ("hoi_le_phi", "bán gas thì đóng lệ phí mấy"), ("hoi_le_phi", "phí làm giấy phép bán gas là bao nhiêu"),
        ("tam_biet", "thôi mình đi nhé")]


def test_recorder_counts_intents_and_an_unhelpful_mark_sends_the_last_message(redis_url: str, monkeypatch) -> None:
    import asyncio

    import redis

    from common import stats

    monkeypatch.setenv("REDIS_URL", redis_url)
    sync = redis.Redis.from_url(redis_url)
    sync.delete(inbox.STREAM, inbox.LAST_PARSE.format("web:s1"), inbox.LAST_PARSE.format("web:s2"))
    today = stats.local_now().date()
    before = int(sync.hget(stats.key(today, stats.INTENTS), "hoi_le_phi") or 0)
    recorder = InboxRecorder({"threshold": 0.6})
    recorder.process([
        Message({"text": "lệ phí cấp giấy phép bán rượu", "intent": {"name": "hoi_le_phi", "confidence": 0.93},
                 "metadata": {"sender": "web:s1"}}),
        Message({"text": "hỏi linh tinh", "intent": {"name": "nlu_fallback", "confidence": 0.3},
                 "metadata": {"sender": "web:s2"}}),
    ])
    assert int(sync.hget(stats.key(today, stats.INTENTS), "hoi_le_phi")) == before + 1
    assert len(sync.xrange(inbox.STREAM)) == 1  # only the fallback so far

    async def mark(sender: str) -> bool:
        client = aioredis.from_url(redis_url)
        try:
            return await inbox.mark_unhelpful(client, sender)
        finally:
            await client.close()

    assert asyncio.run(mark("web:s1"))  # well understood, yet the answer did not help
    assert asyncio.run(mark("web:s2"))  # already in the inbox: moved, not twice
    assert not asyncio.run(mark("web:s1"))  # nothing recent left to mark
    rows = [(f[b"text"].decode(), f[b"reason"]) for _, f in sync.xrange(inbox.STREAM)]
    assert rows == [("lệ phí cấp giấy phép bán rượu", b"unhelpful"), ("hỏi linh tinh", b"unhelpful")]


def test_entities_are_marked_the_rasa_way_and_checked(tmp_path: Path) -> None:
    assert inbox.annotate("tìm chợ gần phường Hải Châu", [("chợ", "loai_dia_diem")]) == (
        "tìm [chợ](loai_dia_diem) gần phường Hải Châu")
    for wrong in ([("siêu thị", "loai_dia_diem")], [("chợ gần", "loai_dia_diem"), ("gần", "muc_do")]):
        try:
            inbox.annotate("tìm chợ gần phường Hải Châu", wrong)
            raise AssertionError("accepted")
        except ValueError as exc:
            assert "“" in str(exc)
    path = inbox.add_example(tmp_path, "danh_gia", "tôi rất hài lòng, sđt 0905123456", DAY,
                             [("rất hài lòng", "muc_do")])
    data = load_data(str(path))
    [example] = data.intent_examples
    assert example.get("text") == "tôi rất hài lòng, sđt 0900000000"  # nobody's number kept
    assert [(e["entity"], e["value"]) for e in example.get("entities")] == [("muc_do", "rất hài lòng")]


def test_a_complaint_reaches_the_training_data_only_rewritten_without_names(tmp_path: Path) -> None:
    def item(text: str, predicted: str = "nlu_fallback") -> inbox.InboxItem:
        return inbox.InboxItem("1-0", text, "web", "2026-11-27T10:00:00", predicted, 0.4)

    complaint = item("cán bộ Trần Văn Bình ở quầy 2 hách dịch, đòi bồi dưỡng mới nhận hồ sơ")
    for intent, rewritten, error in [
            ("phan_anh_kien_nghi", "", inbox.NEEDS_ANONYMISING),
            ("phan_anh_kien_nghi", "  cán bộ Trần Văn Bình ở quầy 2 hách dịch,  đòi bồi dưỡng mới nhận hồ sơ",
             inbox.NOT_REWRITTEN),
            ("phan_anh_kien_nghi", "cán bộ tran van binh ở quầy hách dịch", "“Trần Văn Bình”"),
            ("phan_anh_kien_nghi", "anh Bình ở quầy hách dịch", "“Trần Văn Bình”"),  # the given name alone
            ("chao_hoi", "", inbox.NEEDS_ANONYMISING)]:  # about an official, whatever the label
        with pytest.raises(ValueError, match=re.escape(error)):
            inbox.training_text(complaint, intent, rewritten)
    assert inbox.training_text(complaint, "phan_anh_kien_nghi", "cán bộ ở quầy hách dịch, đòi bồi dưỡng") == (
        "cán bộ ở quầy hách dịch, đòi bồi dưỡng", True)
    predicted = item("Cửa hàng Minh Phát bán rượu giả", predicted="phan_anh_kien_nghi")
    with pytest.raises(ValueError):
        inbox.training_text(predicted, "hoi_thu_tuc")  # the model took it for a complaint: rewritten first
    assert inbox.training_text(item("phí làm giấy phép bán gas là bao nhiêu"), "hoi_le_phi") == (
        "phí làm giấy phép bán gas là bao nhiêu", False)
    assert inbox.name_runs("Tôi gặp chị Lan ở Sở Công Thương. Cô Hoa nói") == ["Lan", "Hoa"]

    with pytest.raises(ValueError):  # the writer refuses a complaint nobody rewrote
        inbox.add_example(tmp_path, "phan_anh_kien_nghi", complaint.text, DAY)
    assert not list(tmp_path.glob("inbox_*.yml"))
