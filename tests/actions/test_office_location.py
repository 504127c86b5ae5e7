"""Asking where the department's office is gets the address, not a handoff (NLU round 5: these
messages are gap_can_bo)."""

import pytest

from actions.handoff import asks_how_to_reach, wants_a_person


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
