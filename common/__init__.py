"""Domain rules shared by every part of the assistant (one module, not copies)."""
