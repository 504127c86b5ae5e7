"""Custom actions of the assistant (rasa_sdk). One concern a module."""
