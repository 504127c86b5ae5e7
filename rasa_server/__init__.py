"""What runs inside Rasa's and the action server's processes besides their own code:
the authenticated gateway channel and the launchers that keep both on loopback."""
