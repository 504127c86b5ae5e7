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
