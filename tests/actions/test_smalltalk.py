"""Short answers: a "no" that corrects the last answer is told apart from one that declines."""

from __future__ import annotations

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.smalltalk import ActionPhuDinh
from content.texts import text
from vn_nlu.lexicon import is_correction


def _tracker(message: str) -> Tracker:
    return Tracker("web:smalltalk", {}, {"text": message, "intent": {"name": "phu_dinh", "confidence": 0.9}},
                   [], False, None, {}, "action_listen")


@pytest.mark.parametrize("message", ["sai rồi", "không phải ý tôi", "ko phai thu tuc do", "bạn hiểu nhầm rồi",
                                     "chưa đúng", "that's wrong"])
async def test_a_correction_gets_an_apology_and_a_way_on(message: str) -> None:
    assert is_correction(message)
    dispatcher = CollectingDispatcher()
    assert await ActionPhuDinh().run(dispatcher, _tracker(message), {}) == []
    [reply] = dispatcher.messages
    assert reply["text"] == text("smalltalk.corrected")
    assert "/gap_can_bo" in [b["payload"] for b in reply["buttons"]]


@pytest.mark.parametrize("message", ["không", "không cần đâu", "thôi khỏi", "no thanks", "trễ hạn rồi phải không"])
async def test_a_decline_gets_a_polite_close(message: str) -> None:
    assert not is_correction(message)
    dispatcher = CollectingDispatcher()
    await ActionPhuDinh().run(dispatcher, _tracker(message), {})
    assert [m["text"] for m in dispatcher.messages] == [text("smalltalk.declined")]
