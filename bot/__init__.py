"""Chat gateway: web chat (and later Telegram, Zalo) in front of Rasa."""
