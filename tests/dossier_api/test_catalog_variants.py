"""A bare product name leaves its variants open; words of foreign investors name the FDI licences."""

import pytest

from actions.procedures import resolve
from dossier_api.catalog import CatalogIndex, load_catalog


@pytest.fixture(scope="module")
def index() -> CatalogIndex:
    return CatalogIndex(load_catalog())


def _resolved(index: CatalogIndex, question: str) -> list[str]:
    return [p.id for p in resolve(question, index.search(question, limit=8)).procedures]


@pytest.mark.parametrize("question", ["khuyến mãi", "khuyen mai", "thủ tục khuyến mại"])
def test_a_bare_promotion_question_offers_both_promotion_procedures(index: CatalogIndex, question: str) -> None:
    assert set(_resolved(index, question)) == {"dang_ky_khuyen_mai", "thong_bao_khuyen_mai"}


@pytest.mark.parametrize(("question", "expected"), [
    ("đăng ký khuyến mại bốc thăm trúng thưởng", "dang_ky_khuyen_mai"),
    ("thông báo chương trình khuyến mãi giảm giá", "thong_bao_khuyen_mai"),
    ("giấy phép kinh doanh cho nhà đầu tư nước ngoài", "giay_phep_kinh_doanh_fdi"),
    ("giay phep kinh doanh cho nha dau tu nuoc ngoai", "giay_phep_kinh_doanh_fdi"),
    ("công ty có vốn nước ngoài xin giấy phép kinh doanh mua bán hàng hóa", "giay_phep_kinh_doanh_fdi"),
    ("nhà đầu tư nước ngoài mở cửa hàng bán lẻ", "co_so_ban_le_fdi"),
    ("thủ tục thành lập văn phòng đại diện", "van_phong_dai_dien"),
    ("lệ phí gia hạn giấy phép VPĐD", "gia_han_van_phong_dai_dien"),  # "VPĐD" with its Đ
    ("đổi trưởng vpđd", "dieu_chinh_van_phong_dai_dien"),
])
def test_a_variant_named_is_the_one_resolved(index: CatalogIndex, question: str, expected: str) -> None:
    assert _resolved(index, question) == [expected]


def test_a_promotion_across_provinces_is_the_ministrys_and_only_when_named(index: CatalogIndex) -> None:
    [across] = _resolved(index, "đăng ký khuyến mại cho chương trình ở 3 tỉnh thì nộp ở đâu")
    assert across == "dang_ky_khuyen_mai_nhieu_tinh" and index.get(across).authority.name == "Bộ Công Thương"
    assert _resolved(index, "đăng ký khuyến mại quay số mất bao lâu") == ["dang_ky_khuyen_mai"]


@pytest.mark.parametrize(("question", "expected"), [
    # a convenience store is not a foreign investor's retail outlet unless the question says so
    ("cửa hàng tiện lợi của tôi muốn bán rượu và thuốc lá thì xin giấy phép gì", ["ban_le_ruou", "ban_le_thuoc_la"]),
    ("tap hoa ban ruou bia thuoc la can giay phep gi", ["ban_le_ruou", "ban_le_thuoc_la"]),
    ("doanh nghiệp FDI mở cửa hàng tiện lợi", ["co_so_ban_le_fdi"]),
])
def test_several_goods_named_resolve_one_licence_each(index: CatalogIndex, question: str, expected: list[str]) -> None:
    resolution = resolve(question, index.search(question, limit=8))
    assert [p.id for p in resolution.procedures] == expected
    assert resolution.each == (len(expected) > 1)


def test_goods_whose_variants_tie_are_asked_not_answered_each(index: CatalogIndex) -> None:
    # the alcohol licence is not told apart (wholesale? retail?): the usual "which one?" stays
    question = "giấy phép rượu và thuốc lá"
    assert not resolve(question, index.search(question, limit=8)).each


@pytest.mark.parametrize(("question", "expected", "decided_by"), [
    ("muốn làm bán buôn xăng dầu cần giấy phép gì", "phan_phoi_xang_dau", "Bộ Công Thương"),
    ("thủ tục làm thương nhân phân phối xăng dầu", "phan_phoi_xang_dau", "Bộ Công Thương"),
    ("mở nhà hàng thì xin giấy chứng nhận an toàn thực phẩm ở đâu", "attp_dich_vu_an_uong", "ngành Y tế"),
    ("bep an tap the cua cong ty can giay attp khong", "attp_dich_vu_an_uong", "ngành Y tế"),
])
def test_what_another_body_decides_resolves_to_its_pointer(
        index: CatalogIndex, question: str, expected: str, decided_by: str) -> None:
    assert _resolved(index, question) == [expected]
    assert index.get(expected).authority.name.startswith(decided_by)


@pytest.mark.parametrize(("question", "expected"), [
    ("sản xuất bánh kẹo xin giấy attp", "attp_co_so"),
    ("lệ phí cấp giấy chứng nhận đủ điều kiện bán lẻ xăng dầu", "ban_le_xang_dau"),
])
def test_the_departments_own_variants_stay(index: CatalogIndex, question: str, expected: str) -> None:
    assert _resolved(index, question) == [expected]


@pytest.mark.parametrize(("question", "agency"), [
    ("công ty em muốn xin giấy phép kinh doanh mua bán hàng hóa", "dang_ky_kinh_doanh"),  # a domestic trader
    ("thủ tục nhập khẩu hàng hóa từ Trung Quốc", "hai_quan"),
])
def test_a_trade_without_foreign_investment_is_not_the_fdi_licence(index: CatalogIndex, question: str,
                                                                    agency: str) -> None:
    resolution = resolve(question, index.search(question, limit=8))
    assert resolution.agency is not None and resolution.agency.key == agency
    assert all(m.procedure.id != "giay_phep_kinh_doanh_fdi" for m in index.search(question, limit=8))
