"""Trackers are ciphertext in Redis and read back whole (issue 15, M8)."""

from __future__ import annotations

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_server.tracker_store import EncryptedRedisTrackerStore


def _store(redis_url: str, key: str) -> EncryptedRedisTrackerStore:
    port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    return EncryptedRedisTrackerStore(Domain.empty(), key=key, host="127.0.0.1", port=port, db=0,
                                      key_prefix="enctest", record_exp=60)


async def test_a_tracker_is_stored_encrypted_and_read_back(redis_url: str) -> None:
    store = _store(redis_url, "k1" * 16)
    tracker = DialogueStateTracker.from_events("web:abc", [
        ActionExecuted("action_listen"), UserUttered("số tôi là 0905123456, tên Lê Văn Tám")])
    await store.save(tracker)
    [key] = store.red.keys("enctest*web:abc")
    raw = store.red.get(key)
    assert "0905123456" not in raw and "Tám" not in raw and "action_listen" not in raw
    assert 0 < store.red.ttl(key) <= 60
    again = await store.retrieve("web:abc")
    assert again.latest_message.text == "số tôi là 0905123456, tên Lê Văn Tám"
    await store.save(again.copy())  # a second save merges with the stored (decrypted) one
    assert (await store.retrieve("web:abc")).latest_message.text.endswith("Tám")


async def test_a_tracker_written_with_another_key_starts_anew(redis_url: str) -> None:
    await _store(redis_url, "old-key-0123456789").save(DialogueStateTracker.from_events(
        "web:rotated", [UserUttered("xin chào")]))
    tracker = await _store(redis_url, "new-key-9876543210").retrieve("web:rotated")
    assert tracker is not None and tracker.latest_message.text in (None, "")
