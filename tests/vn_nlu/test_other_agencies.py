import pytest
import yaml

from vn_nlu.lexicon import OTHER_AGENCIES_FILE, other_agency


def test_every_agency_says_who_where_and_on_what_basis() -> None:
    data = yaml.safe_load(OTHER_AGENCIES_FILE.read_text(encoding="utf-8"))
    assert len(data) >= 10
    for key, entry in data.items():
        assert entry["co_quan"] and entry["noi_nop"] and entry["can_cu"] and entry["tu_khoa"], key
        assert isinstance(entry["review"], bool), key


@pytest.mark.parametrize(("text", "key"), [
    ("làm hộ chiếu ở đâu", "cong_an"), ("lam ho chieu o dau", "cong_an"), ("đổi gplx", "cong_an"),
    ("đăng ký kết hôn", "ubnd_xa"), ("rut bhxh 1 lan", "bhxh"), ("vay vốn ngân hàng", "ngan_hang"),
    ("tách thửa", "dat_dai"), ("bị cúp điện", "dien_luc"),
])
def test_another_agencys_paper_is_found_with_or_without_diacritics(text: str, key: str) -> None:
    agency = other_agency(text)
    assert agency is not None and agency.key == key


@pytest.mark.parametrize("text", [
    # Papers our own procedures ask for are not another agency's matter.
    "có cần bản sao giấy chứng nhận đăng ký doanh nghiệp không", "có cần công chứng không",
    "hộ kinh doanh bán rượu", "lệ phí bán buôn rượu",
])
def test_our_procedures_words_name_no_other_agency(text: str) -> None:
    assert other_agency(text) is None


def test_general_words_of_another_body_yield_to_a_product_of_the_sector() -> None:
    assert other_agency("công ty em muốn xin giấy phép kinh doanh mua bán hàng hóa").key == "dang_ky_kinh_doanh"
    assert other_agency("muốn xin giấy phép kinh doanh khí đốt hóa lỏng cho cửa hàng nhỏ") is None
    assert other_agency("giấy phép kinh doanh rượu cần gì") is None
    # a foreign-invested company's trading licence is the department's (the catalog's words decide it)
    assert other_agency("công ty vốn Hàn muốn xin giấy phép kinh doanh") is None
