"""`make run`'s first step: credentials generated, never left empty, files private (issue 15, M2/M8)."""

from __future__ import annotations

import stat
from pathlib import Path

from scripts import init_env


def test_every_credential_is_generated_once_and_kept(tmp_path: Path) -> None:
    env, var = tmp_path / ".env", tmp_path / "var"
    init_env.main(["--env", str(env), "--var", str(var)])
    first = init_env.read_env(env.read_text(encoding="utf-8"))
    assert all(len(first[name]) == 48 for name in init_env.GENERATED)
    assert len({first[name] for name in init_env.GENERATED}) == len(init_env.GENERATED)
    init_env.main(["--env", str(env), "--var", str(var)])
    assert init_env.read_env(env.read_text(encoding="utf-8")) == first  # a second run changes nothing
    conf = (var / "redis" / "redis.conf").read_text(encoding="utf-8")
    assert f"requirepass {first['REDIS_PASSWORD']}" in conf and "bind 127.0.0.1" in conf
    for path in (env, var / "redis" / "redis.conf"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_older_env_file_gets_the_credentials_it_lacks(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text('HOTLINE=1022\nRASA_TOKEN=kept-as-it-is\nDEPARTMENT_NAME="Sở Công Thương"\n', encoding="utf-8")
    init_env.main(["--env", str(env), "--var", str(tmp_path / "var")])
    values = init_env.read_env(env.read_text(encoding="utf-8"))
    assert values["RASA_TOKEN"] == "kept-as-it-is" and values["DEPARTMENT_NAME"] == "Sở Công Thương"
    assert values["ACTION_SERVER_TOKEN"] and values["REDIS_PASSWORD"] and values["DOSSIER_API_STAFF_TOKEN"]
