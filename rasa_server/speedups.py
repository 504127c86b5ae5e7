"""Work Rasa 3.6 repeats on every turn, done once.

``RemoteAction._validate_action_result`` checks each action server answer with
``jsonschema.validate(result, schema)``, and ``validate`` first checks the *schema*
against its meta-schema, every call. Profiled on the local stack (py-spy, one Rasa,
sequential lookups) that meta-schema check was two thirds of Rasa's CPU per message: a
lookup runs two remote actions (the form's slot validation and the action itself).

The answer is still validated against the same schema, with the same error message;
only the schema's own check happens once, when the validator is built.
"""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def _action_response_validator() -> Any:
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _validate_action_result(self: Any, result: dict[str, Any]) -> bool:
    from jsonschema import ValidationError
    from rasa.shared.constants import DOCS_BASE_URL

    try:
        _action_response_validator().validate(result)
    except ValidationError as e:
        e.message += (
            ". Failed to validate Action server response from API, make sure your response from the Action "
            f"endpoint is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise
    return True


def install() -> None:
    """Replace Rasa's per-call schema check of action server answers by a validator built once."""
    from rasa.core.actions.action import RemoteAction

    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
