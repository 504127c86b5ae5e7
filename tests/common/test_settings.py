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


def test_values_with_spaces_are_quoted_for_honcho() -> None:
    """honcho (`make run`) reads .env itself and drops the spaces of unquoted values:
    'Sở Công Thương' reached citizens as 'SởCôngThương'."""
    example = Path(__file__).resolve().parents[2] / ".env.example"
    unquoted = [line for line in example.read_text(encoding="utf-8").splitlines()
                if not line.startswith("#") and "=" in line and " " in line.split("=", 1)[1]
                and not line.split("=", 1)[1].startswith('"')]
    assert unquoted == []
