import pytest

from common.dossier_questions import (
    Followup,
    asks_about_ticket,
    find_ticket_numbers,
    followup_of,
    is_explicit_complaint,
    is_report,
)


@pytest.mark.parametrize(("text", "kind"), [
    ("khi nào có kết quả", Followup.WHEN),
    ("bao gio xong vay ad", Followup.WHEN),
    ("khi mô có kết quả rứa", Followup.WHEN),
    ("còn mấy ngày nữa", Followup.WHEN),
    ("trễ hạn rồi phải không", Followup.LATE),
    ("vay la qua han roi ha", Followup.LATE),
    ("có đúng hẹn không em", Followup.LATE),
    ("trễ hạn rồi thì khi nào có kết quả", Followup.LATE),
    ("nhận kết quả ở đâu", Followup.WHERE),
    ("lay ket qua o mo", Followup.WHERE),
    ("rồi đến đâu nhận vậy", Followup.WHERE),
    ("vậy trễ mấy ngày rồi", Followup.LATE),
    ("tre han chua", Followup.LATE),
    ("when will it be done", Followup.WHEN),
    ("where can I collect the licence", Followup.WHERE),
    ("sao lâu rứa", Followup.LATE),
    ("hôm nay có kết quả chưa", Followup.WHEN),
    ("ai đang xử lý hồ sơ", Followup.WHY),
    ("bổ sung ở đâu", Followup.WHY),
    ("vậy giờ tôi phải làm gì", Followup.WHY),
    ("giờ tôi phải làm sao", Followup.WHY),
    ("rứa em nên làm chi đây", Followup.WHY),
    ("sao hồ sơ của tôi bị từ chối hả em", Followup.WHY),
    ("vậy giờ lên lấy được chưa", Followup.WHERE),
])
def test_follow_up_questions_are_recognised_with_and_without_diacritics(text: str, kind: Followup) -> None:
    assert followup_of(text) is kind


@pytest.mark.parametrize("text", ["lệ phí bao nhiêu", "cảm ơn nhiều", "tối nay mấy giờ đóng cửa", "hồ sơ gồm gì",
                                  "phải làm sao để xin giấy phép bán rượu"])
def test_other_questions_are_not_dossier_follow_ups(text: str) -> None:
    assert followup_of(text) is None


def test_only_a_complaint_verb_makes_a_message_with_a_code_a_complaint() -> None:
    assert is_explicit_complaint("tôi muốn phản ánh hồ sơ 000.00.12.H17-200115-0001 giải quyết chậm")
    assert is_explicit_complaint("khieu nai ve ho so nay")
    assert not is_explicit_complaint(
        "hồ sơ 000.00.12.H17-200115-0001 của công ty em nộp từ tháng trước sao lâu vậy, bao giờ mới có kết quả ạ")


def test_ticket_numbers_in_any_spacing_are_canonical_and_deduplicated() -> None:
    text = "phiếu pa261201-0003 thế nào rồi, còn PA 261201 - 3 và PA261130-0012 nữa"
    assert find_ticket_numbers(text) == ["PA261201-0003", "PA261130-0012"]
    assert find_ticket_numbers("mã 000.00.12.H17-261201-0003") == []
    assert find_ticket_numbers("SPA261201-0003") == []


@pytest.mark.parametrize(("text", "asks"), [
    ("phiếu vừa rồi thế nào rồi", True),
    ("phan anh cua em hom truoc xu ly chua", True),
    ("phiếu PA261201-0003", True),
    ("cho em lấy phiếu thứ tự", False),
    ("tôi muốn phản ánh cửa hàng bán hàng giả", False),
    ("phiếu của tôi", False),  # no question about its state
])
def test_questions_about_a_ticket_already_filed(text: str, asks: bool) -> None:
    assert asks_about_ticket(text) is asks


@pytest.mark.parametrize("text", [
    "khiếu nại: giấy phép của cửa hàng tôi nộp từ đầu tháng giờ quá hạn mà chẳng ai báo",
    "tiem tap hoa dau hem ban thuoc la khong tem cho ca hoc sinh cap hai",
    "cây xăng trên đường Điện Biên Phủ bơm thiếu, đồng hồ nhảy mà xăng ra ít",
    "báo cáo: xưởng sau nhà sang chiết bình gas trái phép ban đêm, rất nguy hiểm",
    "bữa ni lên một cửa chờ cả buổi mà không ai tiếp, rứa là răng",
    "nguoi ban hang o cho Han noi tuc chui khach, thai do rat te",
    "Tôi bực lắm, cán bộ một cửa cáu gắt rồi bắt về bổ sung mấy lần mà không nói thiếu giấy gì",  # ends on "gì"
])
def test_complaints_told_with_their_substance_are_reports(text: str) -> None:
    assert is_report(text)


@pytest.mark.parametrize("text", [
    "bán rượu thì xin giấy gì",
    "thôi để sau",
    "tôi muốn phản ánh",
    "bán thuốc lá không tem thì bị phạt bao nhiêu vậy",
    "muốn khiếu nại cán bộ thì làm thế nào",
    "gửi đơn tố cáo hàng giả ở đâu vậy ạ",
    "tôi đã gửi phản ánh hôm thứ hai rồi, bây giờ có kết quả chưa",
    "muốn khiếu nại về một cửa hàng thì gửi cho ai, mất bao lâu thì được trả lời?",
    "phát hiện tiệm bán hàng giả thì báo ở mô",
    "mua phải nồi cơm điện hư, cửa hàng không cho đổi, em khiếu nại sao",
    "cửa hàng xăng dầu cần điều kiện gì",
    "cán bộ cáu gắt với dân thì phản ánh ở đâu",
])
def test_questions_and_wishes_are_not_reports(text: str) -> None:
    assert not is_report(text)


def test_the_number_of_the_ticket_just_filed_is_a_question_about_it() -> None:
    assert asks_about_ticket("phiếu của tôi số mấy")


def test_a_complaint_filed_before_is_asked_about_not_filed_again() -> None:
    assert asks_about_ticket("em đã khiếu nại rồi mà sao chưa thấy trả lời")


@pytest.mark.parametrize(("text", "kind"), [
    ("rứa chừng nào thì mới có kết quả", Followup.WHEN),
    ("bao giờ mới được cấp vậy", Followup.WHEN),
    ("hạn trả là bữa mô", Followup.WHEN),
    ("vì sao hồ sơ bị trả lại", Followup.WHY),
    ("em cần bổ sung những gì", Followup.WHY),
])
def test_followups_with_words_in_between(text: str, kind: Followup) -> None:
    assert followup_of(text) is kind


def test_building_a_warehouse_is_no_grievance() -> None:
    from common.dossier_questions import is_report

    assert not is_report("bên em làm kho lạnh chứa hóa chất để cho các xưởng thuê, cần xin giấy gì bên sở ạ")
    assert is_report("cán bộ một cửa làm khó dân, bắt bổ sung giấy tờ ba lần mà không nói rõ thiếu gì")
