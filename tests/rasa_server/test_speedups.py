"""The action server answers are still validated after rasa_server.speedups (only the schema's own
check is done once): a valid answer passes, an invalid one raises Rasa's error."""

from __future__ import annotations

import jsonschema
import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from rasa_server import speedups

VALID = {"events": [{"event": "slot", "name": "ma_ho_so", "value": "000.00.12.H17-261023-0010"}],
         "responses": [{"text": "Hồ sơ đang xử lý."}]}


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> RemoteAction:
    monkeypatch.setattr(RemoteAction, "_validate_action_result", RemoteAction._validate_action_result)
    speedups.install()
    return RemoteAction("action_tra_cuu_ho_so", None)


def test_valid_answers_pass_and_invalid_ones_raise_rasas_error(installed: RemoteAction) -> None:
    assert installed._validate_action_result(VALID) is True
    for bad in ({"events": "not a list"}, {"responses": [42]}, {"events": [{"event": 7}]}, []):
        with pytest.raises(ValidationError, match="Failed to validate Action server response"):
            installed._validate_action_result(bad)


def test_the_schema_is_checked_once_not_per_answer(installed: RemoteAction, monkeypatch: pytest.MonkeyPatch) -> None:
    installed._validate_action_result(VALID)  # the validator exists from here on
    validator_cls = type(speedups._action_response_validator())
    calls = []
    monkeypatch.setattr(validator_cls, "check_schema", classmethod(lambda cls, schema: calls.append(schema)))
    monkeypatch.setattr(jsonschema, "validate", lambda *a, **k: calls.append(a))
    for _ in range(3):
        installed._validate_action_result(VALID)
    assert calls == []
