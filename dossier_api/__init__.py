"""The dossier system contract: typed models, an async client and a reference server."""
