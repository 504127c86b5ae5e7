"""One settings object, read from the environment (see ``.env.example``)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import BaseSettings, Field


class Settings(BaseSettings):
    """Every tunable of the assistant; each field maps to an upper-case variable."""

    dossier_api_url: str = Field("http://127.0.0.1:8081", description="Base URL of the dossier system")
    dossier_api_token: str = Field("", description="Bearer token for the dossier system, if it wants one")
    dossier_api_timeout_s: float = 5.0
    dossier_api_retries: int = 2
    dossier_cache_ttl_s: int = 60

    redis_url: str = "redis://127.0.0.1:6379/0"
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_timeout_s: float = 30.0
    rasa_token: str = Field("", description="Rasa's --auth-token: its HTTP API (tracker events, models) needs it")

    chat_host: str = "127.0.0.1"
    chat_port: int = 8080
    chat_rate_limit_per_min: int = Field(20, description="Messages a chat user may send per minute (all channels)")
    webhook_max_bytes: int = 64 * 1024

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
    staff_session_hours: float = 8.0
    staff_max_failures: int = 5  # failed sign-ins before the account locks
    staff_lock_minutes: int = 15
    staff_cookie_secure: bool = Field(False, description="Set the session cookie Secure (behind https)")
    model_path: str = Field("models/sct-assistant.tar.gz", description="The model `make model` trains (first live)")
    models_dir: str = Field("models", description="Candidate models, their reports and the promotion record")
    nlu_test_set: str = Field("tests/nlu/test_set.yml", description="Fixed test split candidates are compared on")

    department_name: str = "Sở Công Thương"
    agency_codes: str = Field("000.00.12.H17", description="Agency parts of the codes this department issues")
    hotline: str = "1022"
    office_hours: str = "Thứ Hai đến Thứ Sáu, sáng 7h30-11h30, chiều 13h30-17h00"
    handoff_hours: str = Field("07:30-11:30,13:30-17:00", description="When staff take chat conversations over")
    office_address: str = "Bộ phận Một cửa, Trung tâm Hành chính thành phố"
    handoff_timeout_min: float = Field(5.0, description="No staff reply within this many minutes: hotline, bot resumes")
    handoff_idle_min: float = Field(30.0, description="Nobody wrote since the staff's last reply: the handoff ends")

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
