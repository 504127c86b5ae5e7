"""Citizen-facing text in one home: the wording lives in ``content/data/texts.yml``.

``content.texts.text(key, **values)`` reads a text by its dotted key; ``content.replies``
composes the replies about dossiers, procedures and tickets from those texts and the facts
it is given. The package sits above the domain rules (``common``) and the dossier models,
below the services (see the import-linter contracts in ``pyproject.toml``).
"""
