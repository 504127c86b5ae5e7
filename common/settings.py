"""One settings object, read from the environment (see ``.env.example``)."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import BaseSettings, Field, validator


class Settings(BaseSettings):
    """Every tunable of the assistant; each field maps to an upper-case variable."""

    dossier_api_url: str = Field("http://127.0.0.1:8081", description="Base URL of the dossier system")
    dossier_api_token: str = Field("", description="Bearer token of the dossier system's citizen-service routes")
    dossier_api_staff_token: str = Field("", description="Bearer token of its staff routes (status, ticket answers)")
    dossier_api_timeout_s: float = 5.0
    dossier_api_retries: int = 2
    dossier_cache_ttl_s: int = 60

    # Declared before redis_url: the validator below puts it into the URL.
    redis_password: str = Field("", description="requirepass of the local Redis; `make run` generates it")
    redis_url: str = "redis://127.0.0.1:6379/0"
    rasa_url: str = Field("http://127.0.0.1:5005", description="Rasa replicas, comma-separated (clients/rasa.py)")
    rasa_timeout_s: float = 30.0
    rasa_token: str = Field("", description="Rasa's HTTP API token (tracker events, models): staff tools only")
    rasa_channel_token: str = Field("", description="The gateways' token at Rasa's gateway channel")
    rasa_host: str = "127.0.0.1"
    rasa_port: int = 5005
    action_server_token: str = Field("", description="What Rasa shows the action server on every call")
    action_server_host: str = "127.0.0.1"
    action_server_port: int = 5055
    tracker_key: str = Field("", description="Encrypts each Rasa tracker at rest (rasa_server/tracker_store.py)")
    tracker_retention_days: int = Field(30, description="A conversation's tracker is deleted this long after its "
                                                        "last message")

    chat_host: str = "127.0.0.1"
    chat_port: int = 8080
    chat_rate_limit_per_min: int = Field(20, description="Messages a chat user may send per minute (all channels)")
    webhook_max_bytes: int = 64 * 1024
    # Web chat against enumeration: sessions are issued (signed) by the gateway; limits per
    # client address too, since a script can ask for any number of sessions.
    web_session_secret: str = Field("", description="HMAC key of web chat session ids; empty = random per process")
    chat_trusted_proxies: str = Field("", description="Reverse proxies whose X-Forwarded-For names the client")
    chat_rate_limit_per_address_per_min: int = Field(60, description="Web chat messages per client address a minute")
    chat_lookup_limit_per_address_per_hour: int = Field(60, description="Dossier codes looked up per address an hour")
    chat_unknown_code_limit_per_hour: int = Field(5, description="Unknown codes per web session an hour (as SMS)")
    chat_unknown_code_limit_per_address_per_hour: int = Field(20, description="Unknown codes per address an hour")

    # Telegram: on when a token is set. Polling unless a public webhook URL is given.
    telegram_token: str = ""
    telegram_api_url: str = "https://api.telegram.org"
    telegram_webhook_url: str = Field("", description="Public https URL of /webhooks/telegram; empty = polling")
    telegram_secret_token: str = Field("", description="Checked against X-Telegram-Bot-Api-Secret-Token")

    # Zalo Official Account: on when the app id and the OA secret key are set.
    zalo_app_id: str = ""
    zalo_oa_secret_key: str = Field("", description="OA secret key: verifies X-ZEvent-Signature")
    zalo_app_secret_key: str = Field("", description="App secret key: refreshes the OA access token")
    zalo_access_token: str = Field("", description="First access token; later ones live in Redis")
    zalo_refresh_token: str = Field("", description="First refresh token; later ones live in Redis")
    zalo_api_url: str = "https://openapi.zalo.me"
    zalo_oauth_url: str = "https://oauth.zaloapp.com"
    zalo_signature_max_age_s: int = 300
    zalo_rate_limit_retries: int = 4

    # Redis Streams (common/streams.py): consumer names, attempts, liveness, retention.
    consumer_name: str = Field("", description="First part of this process's consumer names; empty = host name")
    consumer_index: int = Field(0, description="Replica number on this host (each replica its own)")
    stream_max_attempts: int = Field(5, description="Deliveries of a stream entry before it is dead-lettered")
    stream_loop_deadline_s: float = Field(60.0, description="/health fails when a consumer loop is silent longer")
    stream_retention_hours: float = Field(48.0, description="Handled stream entries (message texts) kept this long")
    dead_letter_retention_hours: float = Field(720.0, description="Dead letters kept this long for staff")

    dossier_db_path: str = "var/dossiers.sqlite3"
    dossier_api_host: str = "127.0.0.1"
    dossier_api_port: int = 8081

    # Status-change notifications: the API pushes signed events to the gateway,
    # which also polls the API's event list as a fallback.
    dossier_events_webhook_url: str = Field("", description="Where the reference API pushes status changes")
    dossier_events_secret: str = Field("", description="Shared HMAC secret of the status-change webhook")
    notify_poll_interval_s: float = 30.0
    notify_quiet_hours: str = Field("21:00-07:00", description="No notification in this local time range; empty = none")
    timezone: str = "Asia/Ho_Chi_Minh"

    nlu_data_dir: str = Field("nlu_data/nlu", description="Where examples confirmed in the NLU inbox are written")
    staff_db_path: str = Field("var/staff.sqlite3", description="Staff accounts of the console")
    staff_session_hours: float = Field(8.0, description="A console session ends after this long without a request")
    staff_session_max_hours: float = Field(12.0, description="...and this long after signing in, whatever the activity")
    staff_max_failures: int = 5  # failed sign-ins before an account locks for the address they came from
    staff_lock_minutes: int = 15
    staff_address_max_failures: int = Field(20, description="Failed sign-ins (any names) before an address waits")
    staff_trusted_proxies: str = Field("", description="Comma-separated proxy addresses whose X-Forwarded-For the "
                                       "console believes; empty = the TCP peer is the client")
    staff_cookie_secure: bool = Field(False, description="Set the session cookie Secure (behind https)")
    model_path: str = Field("models/sct-assistant.tar.gz", description="The model `make model` trains (first live)")
    models_dir: str = Field("models", description="Candidate models, their reports and the promotion record")
    nlu_test_set: str = Field("tests/nlu/test_set.yml", description="Fixed test split candidates are compared on")

    content_dir: str = Field("", description="Where the content staff edit lives (procedures.yml, knowledge/*.yml, "
                             "texts.yml); empty = the repository's data files")

    department_name: str = "Sở Công Thương"
    agency_codes: str = Field("000.00.12.H17", description="Agency parts of the codes this department issues")
    hotline: str = "1022"
    office_hours: str = "Thứ Hai đến Thứ Sáu, sáng 7h30-11h30, chiều 13h30-17h00"
    handoff_hours: str = Field("07:30-11:30,13:30-17:00", description="When staff take conversations (any channel)")
    office_address: str = "Bộ phận Một cửa, Trung tâm Hành chính thành phố, 24 Trần Phú, phường Hải Châu"
    handoff_timeout_min: float = Field(5.0, description="No staff reply within this many minutes: hotline, bot resumes")
    handoff_idle_min: float = Field(30.0, description="Nobody wrote since the staff's last reply: the handoff ends")

    @validator("redis_url")
    def _redis_url_with_password(cls, url: str, values: dict) -> str:
        """``REDIS_PASSWORD`` goes into a URL that names no credentials of its own."""
        password = values.get("redis_password") or ""
        parts = urlsplit(url)
        if not password or "@" in parts.netloc:
            return url
        return urlunsplit(parts._replace(netloc=f":{quote(password, safe='')}@{parts.netloc}"))

    @property
    def agencies(self) -> set[str]:
        """The agency parts (``000.00.12.H17``) of dossier codes this department issues."""
        return {a.strip().upper() for a in self.agency_codes.split(",") if a.strip()}

    class Config:
        env_file = ".env"
        env_file_encoding = "utf-8"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once, on first use)."""
    return Settings()
