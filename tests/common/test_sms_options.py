"""Buttons over SMS as numbered lines, and the number texted back, against a real Redis."""

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from clients.rasa import BotMessage, Button
from common import sms_keys, sms_options

HINT = "Trả lời số thứ tự để chọn."
MSISDN = "84905550177"


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(redis_url)
    await client.delete(sms_keys.options(MSISDN))
    yield client
    await client.close()


async def test_buttons_are_numbered_and_a_number_texted_back_is_their_payload(redis) -> None:
    text = await sms_options.render(redis, MSISDN, [
        BotMessage("Cuộc trò chuyện đã kết thúc."),
        BotMessage("Anh/chị có hài lòng không?", (Button("Hài lòng", "/csat_1"), Button("Không hài lòng", "/csat_3"))),
    ], HINT)
    assert text.split("\n") == ["Cuộc trò chuyện đã kết thúc.", "Anh/chị có hài lòng không?", "1. Hài lòng",
                                "2. Không hài lòng", HINT]
    assert await sms_options.chosen(redis, MSISDN, " 2 ") == "/csat_3"
    assert await sms_options.chosen(redis, MSISDN, "3") is None  # no third option
    assert await sms_options.chosen(redis, MSISDN, "²") is None  # a digit to str.isdigit, not a number
    assert await sms_options.chosen(redis, MSISDN, "1 nhé") is None
    assert 0 < await redis.ttl(sms_keys.options(MSISDN)) <= sms_options.OPTIONS_TTL_S


async def test_a_reply_without_buttons_forgets_the_previous_menu(redis) -> None:
    await sms_options.render(redis, MSISDN, [BotMessage("Chọn:", (Button("Quay lại trợ lý ảo", "/tro_ly_ao"),))], HINT)
    assert await sms_options.chosen(redis, MSISDN, "1") == "/tro_ly_ao"
    assert await sms_options.render(redis, MSISDN, [BotMessage("Cán bộ đã nhận.")], HINT) == "Cán bộ đã nhận."
    assert await sms_options.chosen(redis, MSISDN, "1") is None
    assert await sms_options.render(redis, MSISDN, [], HINT) == ""


async def test_a_long_text_is_shortened_never_the_menu(redis) -> None:
    from common.sms_text import sms_text_settings

    documents = "\n".join(f"- Bản sao giấy tờ số {i} có chứng thực theo quy định của pháp luật" for i in range(12))
    buttons = (Button("Lệ phí", "/hoi_le_phi"), Button("Thời hạn", "/hoi_thoi_han"),
               Button("Nơi nộp", "/hoi_nop_ho_so"))
    text = await sms_options.render(redis, MSISDN, [BotMessage(f"Hồ sơ gồm:\n{documents}", buttons)], HINT)
    assert sms_text_settings().fits(text)
    assert text.endswith(f"\n1. Lệ phí\n2. Thời hạn\n3. Nơi nộp\n{HINT}") and "Ban sao giay to so 0" in text
    assert await sms_options.chosen(redis, MSISDN, "3") == "/hoi_nop_ho_so"


async def test_a_number_typed_on_a_chat_channel_chooses_among_the_last_buttons_shown(redis) -> None:
    sender = "web:typed-number"
    first = (Button("Lệ phí", "/hoi_le_phi"), Button("Thời hạn", "/hoi_thoi_han"))
    last = (Button("Bán buôn rượu", '/hoi_thu_tuc{"thu_tuc": "ban_buon_ruou"}'),
            Button("Bán lẻ rượu", '/hoi_thu_tuc{"thu_tuc": "ban_le_ruou"}'))
    await sms_options.remember_shown(redis, sender, [BotMessage("Thủ tục A", first), BotMessage("Chọn một:", last)])
    assert await sms_options.chosen_shown(redis, sender, "2.") == '/hoi_thu_tuc{"thu_tuc": "ban_le_ruou"}'
    assert await sms_options.chosen_shown(redis, sender, "3") is None
    # times offered as buttons: "9" is nine o'clock, not the ninth button
    await sms_options.remember_shown(redis, sender, [BotMessage("Giờ trống:", (Button("08:00", "/dat_lich_hen"),))])
    assert await sms_options.chosen_shown(redis, sender, "1") is None
    await sms_options.remember_shown(redis, sender, [BotMessage("Chọn một:", last)])
    await sms_options.remember_shown(redis, sender, [BotMessage("Cảm ơn anh/chị.")])
    assert await sms_options.chosen_shown(redis, sender, "1") is None  # a reply without buttons forgets them


async def test_a_number_typed_to_a_ratings_buttons_is_left_to_be_read_as_a_score(redis) -> None:
    sender = "web:typed-score"
    rating = (Button("Hài lòng", '/danh_gia{"muc_do": "hai_long"}'),
              Button("Không hài lòng", '/danh_gia{"muc_do": "khong_hai_long"}'))
    await sms_options.remember_shown(redis, sender, [BotMessage("Anh/chị đánh giá thế nào?", rating)])
    assert await sms_options.chosen_shown(redis, sender, "1") is None  # "1" is one star, not "Hài lòng"
