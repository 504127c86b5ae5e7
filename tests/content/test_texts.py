import os
import re
import time
from pathlib import Path

import pytest

from content.texts import DEFAULT_PATH, MissingTextValue, TextStore, UnknownTextKey, load, placeholders, text


def _write(path: Path, body: str, mtime_ns: int | None = None) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(body, encoding="utf-8")
    os.replace(tmp, path)  # as the console's editor writes it: atomically
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))


def test_a_text_is_filled_in_and_nested_keys_read_dotted(tmp_path: Path) -> None:
    path = tmp_path / "texts.yml"
    _write(path, 'lookup.not_found: "Không tìm thấy hồ sơ {code}."\nsms:\n  help: "Soạn HD gửi {short_code}"\n')
    store = TextStore(path)
    assert store.text("lookup.not_found", code="X-1") == "Không tìm thấy hồ sơ X-1."
    assert store.text("sms.help", short_code="8283") == "Soạn HD gửi 8283"


def test_unknown_key_and_missing_value_are_clear_errors(tmp_path: Path) -> None:
    path = tmp_path / "texts.yml"
    _write(path, 'a.b: "Hồ sơ {code} của {who}"\n')
    store = TextStore(path)
    with pytest.raises(UnknownTextKey, match="'a.c'"):
        store.text("a.c")
    with pytest.raises(MissingTextValue, match=r"'a.b' needs a value for \{who\}"):
        store.text("a.b", code="X")


def test_an_edit_is_used_within_the_check_interval_without_restart(tmp_path: Path) -> None:
    path = tmp_path / "texts.yml"
    _write(path, 'greet: "Chào anh/chị"\n', mtime_ns=1_000_000_000)
    store = TextStore(path, check_interval_s=0.2)
    assert store.text("greet") == "Chào anh/chị"
    _write(path, 'greet: "Xin chào anh/chị"\n', mtime_ns=2_000_000_000)
    assert store.text("greet") == "Chào anh/chị"  # not looked at again within the interval
    time.sleep(0.25)
    assert store.text("greet") == "Xin chào anh/chị"


def test_a_broken_edit_keeps_the_last_good_texts(tmp_path: Path) -> None:
    path = tmp_path / "texts.yml"
    _write(path, 'greet: "Chào anh/chị"\n', mtime_ns=1_000_000_000)
    store = TextStore(path, check_interval_s=0)
    assert store.text("greet") == "Chào anh/chị"
    _write(path, 'greet: "unterminated\n', mtime_ns=2_000_000_000)
    assert store.text("greet") == "Chào anh/chị"
    _write(path, "greet: [not, a, text]\n", mtime_ns=3_000_000_000)
    assert store.text("greet") == "Chào anh/chị"


def test_content_dir_points_the_process_at_another_copy(tmp_path: Path, monkeypatch) -> None:
    from common.settings import get_settings
    from content import texts

    path = tmp_path / "texts.yml"
    _write(path, 'lookup.invalid_code: "Mã sai"\n')
    monkeypatch.setenv("CONTENT_DIR", str(tmp_path))
    get_settings.cache_clear()
    texts.store().reset()
    try:
        assert text("lookup.invalid_code") == "Mã sai"
    finally:
        monkeypatch.delenv("CONTENT_DIR")
        get_settings.cache_clear()
        texts.store().reset()
    assert text("lookup.invalid_code").startswith("Mã hồ sơ chưa đúng định dạng")


def test_the_shipped_texts_load_and_every_key_is_used_by_the_code() -> None:
    """A text no code asks for is dead wording an editor would change for nothing."""
    shipped = load(DEFAULT_PATH)
    assert all(isinstance(v, str) and v for v in shipped.values())
    root = Path(__file__).resolve().parents[2]
    users = ("content", "common", "actions", "bot", "sms_gateway", "knowledge")  # common names keys it returns
    sources = "\n".join(p.read_text(encoding="utf-8") for d in users for p in (root / d).rglob("*.py"))
    prefixes = tuple(re.findall(r'f"([a-z_]+\.[a-z_.]*\.)\{', sources))  # keys built from values: f"a.b.{x}"
    assert "lookup.hint." in prefixes
    unused = [k for k in shipped if f'"{k}"' not in sources and f"'{k}'" not in sources
              and not any(k.startswith(p) for p in prefixes)]
    assert unused == []


def test_placeholders_are_listed_for_editors() -> None:
    assert placeholders("Hồ sơ {code} ({status}): {answer}") == {"code", "status", "answer"}
    assert placeholders("Không có trường") == set()


def test_a_file_gone_keeps_the_last_texts(tmp_path: Path) -> None:
    path = tmp_path / "texts.yml"
    _write(path, 'greet: "Chào anh/chị"\n')
    store = TextStore(path, check_interval_s=0)
    assert store.text("greet") == "Chào anh/chị"
    path.unlink()
    assert store.text("greet") == "Chào anh/chị"


def test_the_first_load_of_a_missing_file_fails_loudly(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        TextStore(tmp_path / "absent.yml").text("greet")
