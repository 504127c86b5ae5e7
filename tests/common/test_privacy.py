from common.privacy import log_text, mask_applicant, mask_person_name, mask_phone, pseudonym, redact


def test_person_names_are_masked_like_the_design_says() -> None:
    assert mask_person_name("Nguyễn Văn An") == "NGUYỄN V*** A"
    assert mask_person_name("trần thị thu hà") == "TRẦN T*** T*** H"
    assert mask_person_name("Lý") == "L***"
    assert mask_person_name("  ") == ""


def test_organisations_keep_their_legal_form() -> None:
    assert mask_applicant("Công ty TNHH Hoàng Phát") == "CÔNG TY TNHH H*** P***"
    assert mask_applicant("Hộ kinh doanh Minh Long") == "HỘ KINH DOANH M*** L***"
    assert mask_applicant("Phạm Minh Quân") == "PHẠM M*** Q"


def test_phone_and_id_numbers_are_redacted() -> None:
    assert mask_phone("0901234567") == "*******567"
    text = redact("gọi 0901 234 567 hoặc +84901234567, CCCD 001203004567")
    assert "0901" not in text and "84901234567" not in text and "001203004567" not in text
    assert text.count("<SĐT>") == 2 and "<SỐ GIẤY TỜ>" in text


def test_logs_get_sizes_and_pseudonyms_not_content() -> None:
    assert log_text("hồ sơ") == "** 8 byte content **"
    assert pseudonym("sms:0901234567") == pseudonym("sms:0901234567")
    assert "0901234567" not in pseudonym("sms:0901234567")
