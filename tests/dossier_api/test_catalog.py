import pytest

from dossier_api.catalog import CatalogIndex, load_catalog


@pytest.fixture(scope="module")
def index() -> CatalogIndex:
    return CatalogIndex(load_catalog())


def test_catalog_holds_at_least_25_complete_procedures(index: CatalogIndex) -> None:
    assert len(index.procedures) >= 25
    assert len({p.id for p in index.procedures}) == len(index.procedures)
    for p in index.procedures:
        assert p.documents and p.fee and p.processing_time and p.submission and p.legal_basis
        assert p.fee_vnd >= 0 and p.processing_days >= 0


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("lệ phí bán lẻ xăng dầu", "ban_le_xang_dau"),
        ("le phi ban le xang dau", "ban_le_xang_dau"),
        ("xin giấy phép bán buôn rượu cần giấy tờ gì", "ban_buon_ruou"),
        ("xin giay phep ban buon ruou", "ban_buon_ruou"),
        ("đăng ký khuyến mãi bốc thăm", "dang_ky_khuyen_mai"),
        ("mở văn phòng đại diện công ty nước ngoài", "van_phong_dai_dien"),
        ("gia han van phong dai dien", "gia_han_van_phong_dai_dien"),
        ("cửa hàng bán gas", "ban_le_lpg_chai"),
        ("giấy chứng nhận ATTP", "attp_co_so"),
        ("thuốc lá", "ban_buon_thuoc_la"),
        ("giấy phép kinh doanh rượu", "ban_buon_ruou"),
        ("giay phep kinh doanh FDI", "giay_phep_kinh_doanh_fdi"),
    ],
)
def test_search_finds_the_procedure_with_or_without_diacritics(
    index: CatalogIndex, query: str, expected: str
) -> None:
    assert index.search(query)[0].procedure.id == expected


@pytest.mark.parametrize(
    "query",
    # "giấy phép kinh doanh" is any business licence, not the foreign-invested trader's one.
    ["con thoi gian thi sao", "lệ phí bao nhiêu", "xin chào", "", "giấy phép kinh doanh karaoke",
     "xin giay phep kinh doanh spa"],
)
def test_questions_without_a_procedure_match_nothing_strongly(index: CatalogIndex, query: str) -> None:
    hits = index.search(query)
    assert not hits or hits[0].score < 1.5
