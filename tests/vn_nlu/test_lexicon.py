import unicodedata

import pytest
import yaml

from vn_nlu.lexicon import CODE_LEMMA, CUES_FILE, Lexicon, lemma_of, load_teencode, split_tokens

TEEN = load_teencode()
LEX = Lexicon.from_file()


def _entities(text: str) -> list[tuple[str, str]]:
    return [(h.entity, h.value) for h in LEX.find(split_tokens(text, TEEN))]


@pytest.mark.parametrize(
    "text",
    [
        "Tra cứu hồ sơ 000.00.12.h17 - 200115 - 0001 giúp em!!",
        "hs của e đc duyệt chưa ad?",
        "Lệ phí: 1.200.000đ, 3 bộ hồ sơ",
    ],
)
def test_tokens_are_substrings_of_the_text(text: str) -> None:
    for token in split_tokens(text, TEEN):
        assert text[token.start : token.end] == token.text


def test_a_code_is_one_token_whatever_its_spacing() -> None:
    tokens = split_tokens("hs 000.00.12.h17 - 200115 - 0001 sao r", TEEN)
    assert [t.lemma for t in tokens] == ["ho so", CODE_LEMMA, "sao", "roi"]


def test_pieces_of_a_malformed_code_read_as_a_code() -> None:
    tokens = split_tokens("tra cứu 000.00.12.H17-201301-0001", TEEN)
    assert [t.lemma for t in tokens] == ["tra", "cuu", CODE_LEMMA, CODE_LEMMA, "0001"]
    assert lemma_of("8283", TEEN) == "8283"


def test_lemmas_fold_and_expand_teencode() -> None:
    assert lemma_of("Hồ", TEEN) == "ho"
    assert lemma_of("ĐC", TEEN) == "duoc"
    assert lemma_of("ko", TEEN) == "khong"
    assert lemma_of("tthc", TEEN) == "thu tuc hanh chinh"
    assert lemma_of("okkkk", TEEN) == "ok"
    nfd = unicodedata.normalize("NFD", "phí")
    assert lemma_of(nfd, TEEN) == lemma_of("phi", TEEN) == "phi"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tôi rất hài lòng", ("muc_do", "hai_long")),
        ("ko hai long lam", ("muc_do", "khong_hai_long")),
        ("KHÔNG HÀI LÒNG", ("muc_do", "khong_hai_long")),
        ("thấy bình thường", ("muc_do", "binh_thuong")),
        ("dịch vụ ổn", ("muc_do", "binh_thuong")),
        ("cây xăng gần nhất", ("loai_dia_diem", "tram_xang")),
        ("tim sieu thi", ("loai_dia_diem", "sieu_thi")),
        ("Tìm chợ gần đây", ("loai_dia_diem", "cho")),
        ("cây ATM ở đâu", ("loai_dia_diem", "atm")),
        ("trung tam thuong mai", ("loai_dia_diem", "trung_tam_thuong_mai")),
        ("lệ phí bán buôn rượu", ("thu_tuc", "ruou")),
    ],
)
def test_lexicon_values(text: str, expected: tuple[str, str]) -> None:
    assert expected in _entities(text)


def test_longest_phrase_wins_over_its_parts() -> None:
    assert _entities("không hài lòng") == [("muc_do", "khong_hai_long")]


@pytest.mark.parametrize("text", ["cho mình hỏi", "cam on nhieu", "cảm ơn", "do ai ky"])
def test_ambiguous_words_without_diacritics_do_not_match(text: str) -> None:
    assert _entities(text) == []


@pytest.mark.parametrize("text", ["cho gan nhat o dau", "tim cho gan day", "di cho dem",
                                  "cho xin dia chi cho gan phuong Hai Chau"])
def test_plain_cho_is_a_market_where_the_context_says_so(text: str) -> None:
    assert ("loai_dia_diem", "cho") in _entities(text)


@pytest.mark.parametrize("text", ["cho minh hoi atm", "gui cho toi", "cho ho so nay", "chi cho toi",
                                  "ban si cho may tiem"])
def test_plain_cho_is_not_a_market_before_a_pronoun_or_after_a_verb(text: str) -> None:
    assert ("loai_dia_diem", "cho") not in _entities(text)


def test_repeated_letters_do_not_become_teencode() -> None:
    assert lemma_of("zzzzzz", TEEN) == "zzzzzz"
    assert lemma_of("kkkk", TEEN) == "kkkk"


@pytest.mark.parametrize(("text", "group"), [
    ("bán thuốc lá lậu không tem", "thoi_gian"),  # lậu (smuggled) is not lâu (long)
    ("đặt lịch hẹn nộp hồ sơ", "ngoai_pham_vi"),  # đặt (book) is not đất (land)
    ("bán buôn rượu", "ngoai_pham_vi"),  # buôn (trade) is not buồn (sad)
])
def test_a_word_typed_with_other_diacritics_is_another_word(text: str, group: str) -> None:
    assert group not in _cue_groups(text)


@pytest.mark.parametrize(("text", "group"), [
    ("hồ sơ bao lâu không", "thoi_gian"),
    ("ho so bao lau khong", "thoi_gian"),  # without diacritics: any word
    ("đat lich hen", "lich_hen"),  # some diacritics left out still match
    ("lê phí bao nhiêu", "phi"),  # a tone left out of lệ
    ("tranh chấp đất đai", "ngoai_pham_vi"),
])
def test_a_word_typed_with_its_own_or_fewer_diacritics_matches(text: str, group: str) -> None:
    assert group in _cue_groups(text)


def _cue_groups(text: str) -> set[str]:
    cues = yaml.safe_load(CUES_FILE.read_text(encoding="utf-8"))
    exact = cues.pop("exact_only")
    return {hit.entity for hit in Lexicon.of_groups(cues, TEEN, exact).find(split_tokens(text, TEEN))}


@pytest.mark.parametrize("text", ["khuyến mãi", "khuyến mại", "khuyen mai"])
def test_every_spelling_listed_matches_with_its_own_diacritics(text: str) -> None:
    assert "linh_vuc" in _cue_groups(text)
