"""Asking where the department's office is gets the address, not a handoff (NLU round 5: these
messages are gap_can_bo)."""

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import asks_how_to_reach, wants_a_person
from tests.actions.conftest import make_tracker


@pytest.mark.parametrize("text", [
    "trụ sở sở công thương ở đâu",
    "văn phòng sở nằm ở mô rứa",
    "sở công thương ở đường chi",
    "tru so so nam o duong nao",
])
def test_where_the_office_is_asks_how_to_reach(text: str) -> None:
    assert asks_how_to_reach(text)
    assert not wants_a_person(text)


@pytest.mark.parametrize("text", ["cho em gặp cán bộ", "em muốn gặp cán bộ ở văn phòng sở",
                                  "hàng giả hàng nhái thì báo ở đâu"])
def test_asking_for_a_person_still_wants_a_person(text: str) -> None:
    assert wants_a_person(text)


@pytest.mark.parametrize("text", ["thu 7 co lam khong", "trưa có ai trực không em"])
async def test_a_short_hours_question_with_no_subject_is_the_departments(api_url: str, text: str) -> None:
    from actions.procedures import ActionNgoaiPhamVi

    dispatcher = CollectingDispatcher()
    await ActionNgoaiPhamVi().run(dispatcher, make_tracker(text, "ngoai_pham_vi", sender_id="sms:84905550123"), {})
    assert "Thứ Hai đến Thứ Sáu" in dispatcher.messages[0]["text"]


def test_another_bodys_days_are_not_the_departments() -> None:
    from actions.handoff import asks_the_departments_days

    assert not asks_the_departments_days("ngân hàng thứ 7 có làm việc không, tôi muốn vay vốn")
