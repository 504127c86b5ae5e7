"""SMS short code 8283 over SMPP: MO intake, keyword router, MT out, receipts."""
