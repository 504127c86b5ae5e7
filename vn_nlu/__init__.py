"""Vietnamese text components for the Rasa NLU pipeline."""
