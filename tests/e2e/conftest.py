"""The e2e tests use the `stack` fixture of tests/conftest.py."""
