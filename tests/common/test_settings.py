from pathlib import Path

import pytest

from common.settings import Settings
from sms_gateway.config import SmsSettings


def test_settings_read_a_dotenv_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`make run` writes .env from .env.example; every process must read it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HOTLINE", raising=False)
    monkeypatch.delenv("SMS_WINDOW", raising=False)
    example = Path(__file__).resolve().parents[2] / ".env.example"
    (tmp_path / ".env").write_text(example.read_text(encoding="utf-8") + "\nHOTLINE=0236 000\nSMS_WINDOW=7\n",
                                   encoding="utf-8")
    assert Settings().hotline == "0236 000"
    assert SmsSettings().window == 7
