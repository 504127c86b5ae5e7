"""Industry news and announcements, and the topics citizens subscribe to.

Staff publish an announcement (title, short text, topics); it is kept in Redis
(``news:item:<id>`` hash, ``news:index`` sorted by publication time) and, in the
same transaction, queued on ``news:published`` for the notifier to fan out.

A subscription is per channel sender (``<channel>:<id>``, as for dossiers in
``common/subscriptions.py``): ``news:topic:<topic>`` holds the senders of a
topic, ``news:sender:<sender>`` the topics of a sender.

Fan-out is once per (announcement, sender): :func:`queue_once` adds the sender
to ``news:sent:<id>`` and queues its job in one Lua script, so a fan-out
interrupted and run again (a restart, another replica claiming it) queues only
the senders not yet queued, and never one twice.

The texts citizens read about news (chat and SMS) are here too, next to the
topic list they name.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from common.pairs import Follows
from common.text import as_str, fold_key, squash_spaces


@dataclass(frozen=True)
class Topic:
    """A news topic: its code, its name, its SMS keyword and the ways citizens name it (folded)."""

    code: str
    label: str
    sms: str
    aliases: tuple[str, ...]


TOPICS: tuple[Topic, ...] = (
    Topic("xang_dau", "xăng dầu", "XANGDAU", ("xang dau", "xangdau", "xang", "cay xang", "gia xang", "nhien lieu")),
    Topic("an_toan_thuc_pham", "an toàn thực phẩm", "ATTP",
          ("an toan thuc pham", "attp", "antoanthucpham", "ve sinh thuc pham", "thuc pham", "vsattp")),
    Topic("khuyen_mai", "khuyến mại", "KHUYENMAI",
          ("khuyen mai", "khuyenmai", "giam gia", "uu dai", "km", "sale")),
    Topic("dien", "điện", "DIEN", ("dien", "dien luc", "dien mat troi", "cup dien", "tien dien", "gia dien")),
    Topic("thuong_mai_dien_tu", "thương mại điện tử", "TMDT",
          ("thuong mai dien tu", "tmdt", "ban hang online", "ban hang qua mang", "san thuong mai dien tu")),
    Topic("hoi_cho", "hội chợ, triển lãm", "HOICHO", ("hoi cho", "hoicho", "trien lam", "hoi cho trien lam")),
    Topic("thi_truong", "quản lý thị trường, hàng giả", "THITRUONG",
          ("quan ly thi truong", "thi truong", "thitruong", "hang gia", "hang nhai", "qltt")),
)
BY_CODE = {t.code: t for t in TOPICS}
MAX_TITLE = 150
MAX_SUMMARY = 600
LATEST = 3  # announcements answered to "có tin gì mới không"

PUBLISHED = "news:published"  # stream: announcements waiting to be fanned out (the notifier reads it)
_INDEX = "news:index"
_NEXT_ID = "news:next_id"

# Every alias, longest first, so "dien" never takes the "dien" of "thuong mai dien tu".
_ALIASES = sorted(((a, t.code) for t in TOPICS for a in (*t.aliases, t.sms.lower(), fold_key(t.label))),
                  key=lambda pair: -len(pair[0]))
_ALIAS_RE = re.compile(r"(?<![a-z0-9])(" + "|".join(re.escape(a) for a, _ in _ALIASES) + r")(?![a-z0-9])")
_ALIAS_CODE = dict(_ALIASES)


class NewsError(ValueError):
    """An announcement refused; the message is for the staff member (Vietnamese)."""


@dataclass(frozen=True)
class Announcement:
    id: int
    title: str
    summary: str
    topics: tuple[str, ...]
    published_at: dt.datetime
    author: str

    @property
    def topic_labels(self) -> str:
        return ", ".join(BY_CODE[t].label for t in self.topics if t in BY_CODE)


def find_topics(text: str) -> list[str]:
    """The topic codes ``text`` names, in the order named (with or without diacritics, SMS codes)."""
    key = fold_key(text).replace("_", " ")
    found: list[str] = []
    for match in _ALIAS_RE.finditer(key):
        code = _ALIAS_CODE[match.group(1)]
        if code not in found:
            found.append(code)
    return found


def topic_code(value: str) -> str | None:
    """A topic code from a button's entity value (``xang_dau``) or a name; None when unknown."""
    if value in BY_CODE:
        return value
    found = find_topics(value)
    return found[0] if found else None


def _item(announcement_id: int) -> str:
    return f"news:item:{announcement_id}"


def _by_topic(topic: str) -> str:
    return f"news:topic:{topic}"


def _by_sender(sender: str) -> str:
    return f"news:sender:{sender}"


_FOLLOWS = Follows(_by_topic, _by_sender)


def sent_key(announcement_id: int) -> str:
    """The senders an announcement's job was queued for."""
    return f"news:sent:{announcement_id}"


def validate(title: str, summary: str, topics: list[str]) -> tuple[str, str, tuple[str, ...]]:
    """The announcement's fields cleaned up; raises :class:`NewsError` with what is wrong."""
    title, summary = squash_spaces(title), squash_spaces(summary)
    if not 5 <= len(title) <= MAX_TITLE:
        raise NewsError(f"Tiêu đề phải có từ 5 đến {MAX_TITLE} ký tự.")
    if not 10 <= len(summary) <= MAX_SUMMARY:
        raise NewsError(f"Nội dung tóm tắt phải có từ 10 đến {MAX_SUMMARY} ký tự.")
    chosen = tuple(dict.fromkeys(t for t in topics if t))
    if not chosen:
        raise NewsError("Anh/chị chọn ít nhất một chủ đề.")
    if any(t not in BY_CODE for t in chosen):
        raise NewsError("Chủ đề không hợp lệ.")
    return title, summary, chosen


async def publish(redis: Any, title: str, summary: str, topics: list[str], author: str,
                  now: dt.datetime) -> Announcement:
    """Keep the announcement and queue it for delivery, atomically."""
    title, summary, chosen = validate(title, summary, topics)
    announcement_id = int(await redis.incr(_NEXT_ID))
    fields = {"title": title, "summary": summary, "topics": ",".join(chosen),
              "published_at": now.replace(microsecond=0).isoformat(), "author": author}
    pipe = redis.pipeline(transaction=True)
    pipe.hset(_item(announcement_id), mapping=fields)
    pipe.zadd(_INDEX, {str(announcement_id): now.timestamp()})
    pipe.xadd(PUBLISHED, {"news": str(announcement_id)})
    await pipe.execute()
    return _announcement(announcement_id, fields)


def _announcement(announcement_id: int, fields: dict[str, str]) -> Announcement:
    return Announcement(id=announcement_id, title=fields["title"], summary=fields["summary"],
                        topics=tuple(t for t in fields["topics"].split(",") if t),
                        published_at=dt.datetime.fromisoformat(fields["published_at"]), author=fields["author"])


async def get(redis: Any, announcement_id: int) -> Announcement | None:
    raw = await redis.hgetall(_item(announcement_id))
    if not raw:
        return None
    return _announcement(announcement_id, {as_str(k): as_str(v) for k, v in raw.items()})


async def latest(redis: Any, count: int = LATEST) -> list[Announcement]:
    """The newest announcements first."""
    ids = await redis.zrevrange(_INDEX, 0, count - 1)
    found = [await get(redis, int(as_str(i))) for i in ids]
    return [a for a in found if a is not None]


async def subscribe(redis: Any, sender: str, topics: list[str]) -> list[str]:
    """Subscribe ``sender`` to ``topics``; the ones it was not subscribed to yet."""
    return await _FOLLOWS.add(redis, sender, topics)


async def unsubscribe(redis: Any, sender: str, topics: list[str] | None = None) -> list[str]:
    """Unsubscribe ``sender`` from ``topics`` (every topic when None); the ones dropped."""
    if not topics:
        mine = await _FOLLOWS.of(redis, sender)
        topics = [t.code for t in TOPICS if t.code in mine] + sorted(mine - set(BY_CODE))  # the list's order
    return await _FOLLOWS.remove(redis, sender, topics)


async def topics_of(redis: Any, sender: str) -> list[str]:
    """The topics ``sender`` is subscribed to, in the topic list's order."""
    mine = await _FOLLOWS.of(redis, sender)
    return [t.code for t in TOPICS if t.code in mine]


async def subscribers(redis: Any, topics: tuple[str, ...] | list[str]) -> set[str]:
    """Every sender subscribed to any of ``topics``."""
    if not topics:
        return set()
    return {as_str(s) for s in await redis.sunion([_by_topic(t) for t in topics])}


async def subscriber_counts(redis: Any) -> dict[str, int]:
    """Subscribers per topic."""
    pipe = redis.pipeline(transaction=False)
    for topic in TOPICS:
        pipe.scard(_by_topic(topic.code))
    return {t.code: int(n) for t, n in zip(TOPICS, await pipe.execute(), strict=True)}


# KEYS[1]: the announcement's sent set; then one stream per job. ARGV[1]: the announcement id;
# then one sender per job. A sender already in the set is skipped; returns how many were queued.
_QUEUE_ONCE = """
local queued = 0
for i = 2, #KEYS do
  if redis.call('SADD', KEYS[1], ARGV[i]) == 1 then
    redis.call('XADD', KEYS[i], '*', 'sender', ARGV[i], 'news', ARGV[1])
    queued = queued + 1
  end
end
return queued
"""
_CHUNK = 200


async def queue_once(redis: Any, announcement_id: int, jobs: list[tuple[str, str]]) -> int:
    """Queue ``(sender, stream)`` jobs of an announcement, each sender once ever; how many were new."""
    queued = 0
    for start in range(0, len(jobs), _CHUNK):
        chunk = jobs[start:start + _CHUNK]
        keys = [sent_key(announcement_id), *(stream for _, stream in chunk)]
        args = [str(announcement_id), *(sender for sender, _ in chunk)]
        queued += int(await redis.eval(_QUEUE_ONCE, len(keys), *keys, *args))
    return queued
