"""Settings of the SMS gateway (environment variables prefixed ``SMS_``)."""

from __future__ import annotations

from functools import lru_cache

from common.sms_text import SmsTextSettings


class SmsSettings(SmsTextSettings):
    """The SMPP bind, the MT policy and the abuse limits (and, inherited, how replies are cut)."""

    smsc_host: str = "127.0.0.1"
    smsc_port: int = 2775
    system_id: str = "sct"
    password: str = ""
    system_type: str = ""
    bind_mode: str = "transceiver"  # transceiver | transmitter | receiver
    source_addr: str = "8283"
    source_ton: int = 3  # abbreviated (short code)
    source_npi: int = 0
    dest_ton: int = 1  # international
    dest_npi: int = 1  # E.164
    enquire_link_s: float = 30.0
    reconnect_max_s: float = 30.0
    window: int = 10  # outstanding submit_sm
    tps: float = 50.0  # submit rate cap (messages per second)
    use_sar: bool = False  # concatenate with sar_ TLVs instead of UDH
    registered_delivery: bool = True
    dedup_window_s: int = 120  # how long an MO's resend evidence is kept (same sequence, or another bind)
    dedup_resend_s: float = 3.0  # an identical MO this soon, before ours was answered, is a resend
    part_timeout_s: int = 60
    rate_limit_per_min: int = 10
    unknown_code_limit_per_hour: int = 5
    submit_retries: int = 3
    throttle_backoff_s: float = 0.5
    receipt_ttl_s: int = 3 * 24 * 3600
    http_host: str = "127.0.0.1"
    http_port: int = 8090  # the link's (or the all-in-one process's) /health and /metrics
    worker_http_port: int = 8091  # an MO worker's, plus its index
    consumer: str = ""  # first part of the consumer names in the Redis groups; default: CONSUMER_NAME or host
    mo_group: str = "sms-workers"

    class Config:
        env_prefix = "SMS_"
        env_file = ".env"
        env_file_encoding = "utf-8"


@lru_cache(maxsize=1)
def get_sms_settings() -> SmsSettings:
    """The process-wide SMS settings."""
    return SmsSettings()
