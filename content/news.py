"""What citizens read about the department's news: announcements as they reach a subscriber,
the latest ones, and the answers to subscribing and leaving (chat and SMS; the SMS layer folds
them to ASCII afterwards). The wording is in ``content/data/texts.yml`` (``news.*``); the topics
and the store are domain rules in ``common/news.py``."""

from __future__ import annotations

from common.news import BY_CODE, TOPICS, Announcement
from common.text import cut_at_word
from content.texts import text

SMS_SUMMARY = 200  # characters of an announcement's summary in its SMS


def _date(announcement: Announcement) -> str:
    return announcement.published_at.strftime("%d/%m/%Y")


def _labels(topics: list[str]) -> str:
    return ", ".join(BY_CODE[t].label for t in topics)


def stop_hint(channel: str, topic: str | None = None) -> str:
    if channel == "sms":
        return text("news.sms.stop_topic", code=BY_CODE[topic].sms) if topic else text("news.sms.stop")
    return text("news.stop", named=f" {BY_CODE[topic].label}" if topic else "")


def notice(announcement: Announcement, channel: str) -> str:
    """The announcement as it reaches a subscriber (SMS: short, the SMS layer folds and caps it)."""
    if channel == "sms":
        return text("news.sms.notice", topics=announcement.topic_labels, date=_date(announcement),
                    title=announcement.title, summary=cut_at_word(announcement.summary, SMS_SUMMARY),
                    stop=stop_hint("sms"))
    return text("news.notice", topics=announcement.topic_labels, date=_date(announcement), title=announcement.title,
                summary=announcement.summary, stop=stop_hint(channel))


def latest_text(announcements: list[Announcement], channel: str) -> str:
    """The answer to "có tin gì mới không"."""
    if not announcements:
        return text("news.none")
    if channel == "sms":
        return text("news.sms.latest", items=" | ".join(f"{_date(a)} {a.title}" for a in announcements))
    lines = [f"- {_date(a)} · {a.title}: {a.summary}" for a in announcements]
    return text("news.latest", items="\n".join(lines))


def topic_list(channel: str) -> str:
    """The topics one may subscribe to, as a channel names them."""
    if channel == "sms":
        return ", ".join(t.sms for t in TOPICS)
    return ", ".join(t.label for t in TOPICS)


def subscribed_text(added: list[str], asked: list[str], channel: str) -> str:
    stop = stop_hint(channel, asked[0] if len(asked) == 1 else None)
    key = "news.subscribed" if added else "news.already_subscribed"
    return text(key, topics=_labels(asked), stop=stop)


def unsubscribed_text(dropped: list[str], asked: list[str] | None, channel: str) -> str:
    if dropped:
        again = text("news.sms.subscribe_again" if channel == "sms" else "news.subscribe_again")
        return text("news.unsubscribed", topics=_labels(dropped), again=again)
    if asked:
        return text("news.not_subscribed_to", topics=_labels(asked))
    return text("news.not_subscribed")


def sms_overview(announcements: list[Announcement]) -> str:
    """``TIN`` alone (``TIN MOI``): the latest news (short), or that there is none, then how to
    subscribe and the topic codes."""
    return f"{latest_text(announcements[:2], 'sms')} {text('news.sms.how_to', topics=topic_list('sms'))}"


def ask_topic(subscribed: list[str]) -> str:
    """Which topic, when none was named (and what the citizen already receives)."""
    already = text("news.already_receiving", topics=_labels(subscribed)) if subscribed else ""
    return text("news.ask_topic") + already
