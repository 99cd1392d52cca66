"""Danger words in the account: whole words after jieba segmentation, not substrings."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from django.conf import settings

from fulian.cases import triage
from fulian.cases.models import Risk

POSITIVE = [
    ("他喝醉了就打我", "打"),
    ("他说要杀了我全家", "杀"),
    ("拿刀威胁", "拿刀"),
    ("掐我脖子", "掐"),
    ("说要跳楼", "跳楼"),
    ("他用菜刀砍我", "菜刀"),
    ("他扬言要掐死我", "掐死"),
    ("他把我往死里打", "往死里打"),
    ("他拿砍刀追我", "砍刀"),
    ("他要喝农药", "农药"),
]

NEGATIVE = [
    "我打电话咨询离婚",
    "他在外地打工",
    "打算起诉",
    "商家杀价",
    "孩子发烧了,我想问抚养费的事",
    "我上个月开刀住院,他不给钱",
]


@pytest.mark.parametrize(("text", "word"), POSITIVE)
def test_danger_word_that_stands_as_a_word_raises_the_suggestion(text, word):
    assert word in triage.danger_words(text)
    assert triage.suggest_risk([], text) == Risk.ELEVATED


@pytest.mark.parametrize("text", NEGATIVE)
def test_danger_character_inside_an_everyday_word_does_not_count(text):
    assert triage.danger_words(text) == []
    assert triage.suggest_risk([], text) == Risk.NORMAL


def test_substring_matching_would_have_flagged_the_negatives():
    """The negatives really contain a danger character: the test above can only pass through segmentation."""
    for text in NEGATIVE:
        assert any(w in text for w in triage.DANGER_WORDS if len(w) == 1), text


def test_multi_character_danger_words_segment_whole_and_each_is_reported_once():
    assert "掐脖子" in triage.words("他又掐脖子又打人")
    assert "跳楼" in triage.words("她说不想活了要跳楼")
    assert triage.danger_words("他打我,打完又打") == ["打"]
    assert triage.danger_words("他打电话说要杀了我") == ["杀"]
    assert triage.danger_words("") == [] and triage.words("") == []


def test_segmenter_is_built_once_with_its_cache_under_data_dir_and_logs_nothing(caplog, monkeypatch):
    first = triage.segmenter()
    assert triage.segmenter() is first
    assert Path(first.tmp_dir) == Path(settings.DATA_DIR)
    assert (Path(settings.DATA_DIR) / "jieba.cache").exists()
    # a fresh build (as in a new worker process) logs nothing: jieba's own DEBUG lines are silenced
    monkeypatch.setattr(triage, "_segmenter", None)
    caplog.clear()
    rebuilt = triage.segmenter()
    assert rebuilt is not first and triage.danger_words("他又打我") == ["打"]
    assert [r.getMessage() for r in caplog.records if r.name.startswith("jieba")] == []
    assert logging.getLogger("jieba").level == logging.WARNING


def test_intake_suggests_from_whole_words_only(cast):
    from fulian.cases.models import EntryKind

    from .conftest import make_case

    working_away = make_case(cast.users.a_caseworker, cast.town_a, account="他在外地打工,打算起诉离婚。")
    beaten = make_case(cast.users.a_caseworker, cast.town_a, account="他喝醉了就打我,还说要跳楼。")
    assert working_away.risk_suggested == Risk.NORMAL
    assert beaten.risk_suggested == Risk.ELEVATED
    intake = beaten.timeline.get(kind=EntryKind.INTAKE)
    assert intake.data["danger_words"] == 2
    assert working_away.timeline.get(kind=EntryKind.INTAKE).data["danger_words"] == 0


def _segmented(text: str) -> list[str]:
    """``danger_words`` without its shortcut: every text segmented."""
    return list(dict.fromkeys(w for w in triage.words(text) if w in triage._DANGER_SET))


def test_the_unsegmented_shortcut_gives_what_segmenting_gives():
    """``danger_words`` skips jieba when no danger word occurs as a substring: over texts with and without
    danger words, danger characters inside everyday words, and sentences as a switchboard pushes them, the
    result is exactly the segmented one."""
    import random

    neutral = [
        "他",
        "我",
        "喝醉了",
        "来电反映近期家庭矛盾激化,",
        "希望妇联帮助协调。",
        "孩子",
        "离婚",
        "又",
        "要",
        ",",
        " ",
    ]
    rng = random.Random(3)

    def piece() -> str:
        r = rng.random()
        if r < 0.05:
            return rng.choice(triage.DANGER_WORDS)
        if r < 0.12:
            return rng.choice(triage.HARMLESS_WORDS)
        return rng.choice(neutral)

    texts = [text for text, _ in POSITIVE] + NEGATIVE
    texts += ["", "来电反映近期家庭矛盾激化,希望妇联帮助协调。" * 3, "希望妇联帮助调解", "abc 123"]
    texts += ["".join(piece() for _ in range(rng.randrange(1, 12))) for _ in range(600)]
    skipped = [t for t in texts if not triage.could_hold_danger_words(t)]
    assert len(skipped) > 50 and len(texts) - len(skipped) > 50  # both paths are exercised
    for text in texts:
        assert triage.danger_words(text) == _segmented(text), text


def test_a_text_without_any_danger_word_is_not_segmented(monkeypatch):
    def no_jieba(text):
        raise AssertionError(f"segmented {text!r}")

    monkeypatch.setattr(triage, "words", no_jieba)
    assert triage.danger_words("来电反映近期家庭矛盾激化,希望妇联帮助协调。") == []
    with pytest.raises(AssertionError):
        triage.danger_words("我打电话咨询离婚")  # a danger character: segmented (and here 打 is not a word)
