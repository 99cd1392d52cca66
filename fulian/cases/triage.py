"""Risk triage and the working-day calendar of case deadlines: pure functions, no database.

Risk: a short structured checklist (the danger-assessment items that predict lethal violence) gives a suggested
level; danger words in the account (whole words, segmented with jieba) can raise the suggestion; the worker
confirms the level. Deadlines: 高危 cases must be contacted within 24 hours, the others within 3 working days;
handling within 30 days. Working days follow the public-holiday calendar (``Holiday`` rows): a listed weekday off
is a holiday, a listed weekend day with ``is_workday`` is a 调休 working day.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from collections.abc import Iterable, Mapping

# (key, label, weight): weight 3 = on its own a 高危 signal; 1 = raises the level when several come together.
RISK_ITEMS: list[tuple[str, str, int]] = [
    ("threat_to_kill", "对方扬言要杀死她或家人", 3),
    ("strangulation", "曾被掐脖子、捂口鼻", 3),
    ("weapon", "对方使用或持有刀具、枪支等凶器", 3),
    ("escalating", "暴力越来越频繁、越来越严重", 1),
    ("pregnancy", "怀孕期间遭受暴力", 1),
    ("children_at_risk", "孩子也受到暴力或威胁", 1),
    ("separation", "正在分居或提出离婚", 1),
    ("suicide_threat", "对方或当事人有自杀言行", 1),
    ("injury", "已造成身体伤害", 1),
    ("control", "被限制人身自由、跟踪或监视", 1),
]
RISK_KEYS = [key for key, _, _ in RISK_ITEMS]
RISK_LABELS = {key: label for key, label, _ in RISK_ITEMS}
_WEIGHTS = {key: weight for key, _, weight in RISK_ITEMS}

# Words in the account that make a worker look again (a suggestion only; the worker confirms). The account is
# segmented into words with jieba and only whole words count: 打 in 他又打我 is a word of its own, in 打电话,
# 打工 or 打算 it is part of another word and does not count; 杀 in 杀价 neither.
DANGER_WORDS = (
    # single-character verbs and weapons: a match only when jieba leaves them standing alone
    "打",
    "揍",
    "杀",
    "砍",
    "捅",
    "掐",
    "勒",
    "烧",
    "刀",
    "枪",
    # words that jieba must keep whole (added to its dictionary)
    "打死",
    "打伤",
    "殴打",
    "毒打",
    "暴打",
    "往死里打",
    "杀死",
    "杀人",
    "砍死",
    "砍伤",
    "捅死",
    "烧死",
    "掐住",
    "掐死",
    "掐脖子",
    "勒死",
    "勒脖子",
    "刀子",
    "菜刀",
    "砍刀",
    "匕首",
    "拿刀",
    "动刀",
    "枪支",
    "泼硫酸",
    "跳楼",
    "跳河",
    "上吊",
    "割腕",
    "自杀",
    "寻死",
    "轻生",
    "喝药",
    "农药",
    "同归于尽",
    "弄死",
)
# Everyday words that contain a danger character: added to the dictionary too, so that they always stay whole
# words (most are in jieba's dictionary already; this pins them).
HARMLESS_WORDS = (
    "打电话",
    "打工",
    "打算",
    "打车",
    "打针",
    "打扫",
    "打听",
    "打印",
    "杀价",
    "砍价",
    "开刀",
    "发烧",
)
_DANGER_SET = frozenset(DANGER_WORDS)
_DANGER_PATTERN = re.compile("|".join(map(re.escape, sorted(DANGER_WORDS, key=len, reverse=True))))
_segmenter = None
_segmenter_lock = threading.Lock()


def _jieba_cache_dir() -> str | None:
    """jieba keeps its parsed dictionary in a cache file (``jieba.cache``); under ``DATA_DIR`` when Django is
    configured (writable in development, CI and production alike), else jieba's default temp dir."""
    try:
        from django.conf import settings

        return str(settings.DATA_DIR) if settings.configured else None
    except (ImportError, AttributeError):  # no Django, or no DATA_DIR: jieba's default
        return None


def segmenter():
    """The process-wide jieba tokenizer with the danger vocabulary, built on first use (loading the dictionary
    takes about a second, so never at import time nor per request)."""
    global _segmenter
    if _segmenter is None:
        with _segmenter_lock:
            if _segmenter is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                cache_dir = _jieba_cache_dir()
                if cache_dir:
                    tokenizer.tmp_dir = cache_dir
                tokenizer.initialize()
                for word in (*DANGER_WORDS, *HARMLESS_WORDS):
                    if len(word) > 1:
                        tokenizer.add_word(word)
                _segmenter = tokenizer
    return _segmenter


def words(text: str) -> list[str]:
    """The words of ``text`` (jieba's dictionary only, no HMM guessing: unknown runs stay single characters,
    so a lone 打 is never glued to its neighbour into a new "word")."""
    if not text:
        return []
    return segmenter().lcut(text, HMM=False)


def could_hold_danger_words(text: str) -> bool:
    """Whether any danger word occurs in ``text`` as a substring. jieba's words are substrings of the text, so
    when none does, no word can be one (``danger_words`` is then empty without segmenting)."""
    return _DANGER_PATTERN.search(text) is not None


def danger_words(text: str) -> list[str]:
    """The danger words in ``text``, each once, in the order they first appear. Texts without any danger
    word as a substring are not segmented (jieba is the costly part of an intake's triage)."""
    if not text or not could_hold_danger_words(text):
        return []
    found = dict.fromkeys(w for w in words(text) if w in _DANGER_SET)
    return list(found)


NORMAL, ELEVATED, HIGH = 1, 2, 3


def check_risk_items(keys: Iterable[str]) -> list[str]:
    """The checklist keys in canonical order; ValueError for an unknown key."""
    keys = set(keys)
    unknown = keys - set(RISK_KEYS)
    if unknown:
        raise ValueError(f"unknown risk items: {sorted(unknown)}")
    return [k for k in RISK_KEYS if k in keys]


def suggest_risk(keys: Iterable[str], account: str = "", *, found: list[str] | None = None) -> int:
    """The suggested level: any weight-3 item or three weight-1 items → 高危; one or two items, or danger words
    in the account → 较高; nothing → 一般. ``found``: ``danger_words(account)`` if the caller has it already."""
    keys = check_risk_items(keys)
    if any(_WEIGHTS[k] >= 3 for k in keys) or sum(_WEIGHTS[k] for k in keys) >= 3:
        return HIGH
    if keys or (found if found is not None else danger_words(account)):
        return ELEVATED
    return NORMAL


# --- working days ---------------------------------------------------------------------------------------------


def is_working_day(day: dt.date, calendar: Mapping[dt.date, bool]) -> bool:
    """``calendar`` maps listed dates to ``is_workday`` (True: 调休 working day; False: holiday)."""
    if day in calendar:
        return calendar[day]
    return day.weekday() < 5


def add_working_days(start: dt.date, days: int, calendar: Mapping[dt.date, bool]) -> dt.date:
    """The ``days``-th working day after ``start`` (``start`` itself does not count)."""
    if days < 0:
        raise ValueError("days must not be negative")
    day = start
    left = days
    while left:
        day += dt.timedelta(days=1)
        if is_working_day(day, calendar):
            left -= 1
    return day


def working_days_between(start: dt.date, end: dt.date, calendar: Mapping[dt.date, bool]) -> int:
    """Working days in (start, end]: how many working days have passed from ``start`` to ``end``."""
    if end <= start:
        return 0
    return sum(
        1 for n in range(1, (end - start).days + 1) if is_working_day(start + dt.timedelta(days=n), calendar)
    )


def end_of_day(day: dt.date, tz) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=tz)


def first_contact_due(
    received: dt.datetime,
    risk: int,
    calendar: Mapping[dt.date, bool],
    *,
    high_hours: int = 24,
    working_days: int = 3,
) -> dt.datetime:
    """高危: ``high_hours`` after receipt, around the clock; otherwise the end of the ``working_days``-th working
    day after the day of receipt (in the receipt's time zone)."""
    if risk >= HIGH:
        return received + dt.timedelta(hours=high_hours)
    day = add_working_days(received.date(), working_days, calendar)
    return end_of_day(day, received.tzinfo)


def handling_due(received: dt.datetime, *, days: int = 30) -> dt.datetime:
    """The end of the ``days``-th calendar day after receipt."""
    return end_of_day(received.date() + dt.timedelta(days=days), received.tzinfo)
