import pytest

from common.status import RatingLevel
from sms_gateway.keywords import Kind, parse_sms

CODE = "000.00.12.H17-200115-0001"


@pytest.mark.parametrize(
    "text",
    [
        f"HS {CODE}",
        f"hs {CODE.lower()}",
        f"  Hs   {CODE}  ",
        f"HS.{CODE}",
        f"HS-{CODE}",
        f"H.S: {CODE}",
        "hs 000 . 00 . 12 . h17 – 200115 – 0001",
        CODE,
        CODE.lower(),
    ],
)
def test_status_lookups(text: str) -> None:
    command = parse_sms(text)
    assert command.kind is Kind.STATUS and command.code == CODE and command.error is None


@pytest.mark.parametrize(
    ("text", "level"),
    [
        (f"DG {CODE} 1", RatingLevel.HAI_LONG),
        (f"dg {CODE.lower()} 2", RatingLevel.BINH_THUONG),
        (f"Đg  {CODE}  3", RatingLevel.KHONG_HAI_LONG),
        (f"D.G {CODE}.1", RatingLevel.HAI_LONG),
    ],
)
def test_ratings(text: str, level: RatingLevel) -> None:
    command = parse_sms(text)
    assert command == parse_sms(text) and command.kind is Kind.RATE
    assert command.code == CODE and command.level is level and command.error is None


def test_subscriptions_and_help() -> None:
    assert parse_sms(f"DK {CODE}").kind is Kind.SUBSCRIBE
    assert parse_sms(f"dk {CODE}").code == CODE
    unsub = parse_sms(f"huy {CODE}")
    assert unsub.kind is Kind.UNSUBSCRIBE and unsub.code == CODE
    assert parse_sms("HUY").kind is Kind.UNSUBSCRIBE and parse_sms("Hủy").code is None
    assert parse_sms("hd").kind is Kind.HELP
    assert parse_sms(" HD. ").kind is Kind.HELP


@pytest.mark.parametrize(
    ("text", "kind", "error"),
    [
        ("HS", Kind.STATUS, "missing_code"),
        ("HS 12345", Kind.STATUS, "invalid_code"),
        ("HS 000.00.12.H17-201301-0001", Kind.STATUS, "invalid_code"),
        ("12345", Kind.STATUS, "invalid_code"),
        (f"DG {CODE} 5", Kind.RATE, "invalid_level"),
        (f"DG {CODE}", Kind.RATE, "invalid_level"),
        ("DG 123456 1", Kind.RATE, "invalid_code"),
        ("DG", Kind.RATE, "invalid_level"),  # how to rate, not free text for the assistant
        ("DK", Kind.SUBSCRIBE, "missing_code"),
    ],
)
def test_keyword_with_bad_arguments(text: str, kind: Kind, error: str) -> None:
    command = parse_sms(text)
    assert command.kind is kind and command.error == error


@pytest.mark.parametrize(
    "text",
    [
        "hs cua toi sao roi",
        "hd nop ho so o dau",
        "huy dang ky nhan tin",
        "dk nhan thong bao",
        "le phi ban le xang dau",
        "Hồ sơ của tôi đến đâu rồi?",
        "",
        "😀",
        "HSBC o dau",
    ],
)
def test_free_text_goes_to_the_assistant(text: str) -> None:
    assert parse_sms(text).kind is Kind.CHAT


@pytest.mark.parametrize(
    ("phone", "msisdn"),
    [("0901234567", "84901234567"), ("+84 90 123 4567", "84901234567"), ("84901234567", "84901234567"),
     ("090-123-4567", "84901234567"), ("12345", None), ("abc", None), ("", None)],
)
def test_msisdn_normalisation(phone: str, msisdn: str | None) -> None:
    from sms_gateway.keywords import normalize_msisdn

    assert normalize_msisdn(phone) == msisdn
