"""The staff console (``/staff``): accounts, sessions, and the pages built on them."""
