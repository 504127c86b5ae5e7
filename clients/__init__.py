"""Clients of the systems the services talk to, knowing nothing of the services: Rasa's
gateway channel and HTTP API (``clients.rasa``); the dossier system's client lives beside its
reference server (``dossier_api.client``). Both sit between ``common`` and the services."""
