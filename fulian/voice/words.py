"""Free-text answers grouped by their most frequent words (jieba), so a chair can read 2,000 answers by theme."""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from collections.abc import Iterable

_segmenter = None
_lock = threading.Lock()

# function words, pronouns and fillers that say nothing about the theme of an answer
STOP_WORDS = frozenset(
    """
    的 了 和 是 在 我 有 就 不 人 都 一 一个 上 也 很 到 说 要 去 你 会 着 没有 看 好 自己 这 那 她 他 它 我们 你们
    他们 她们 什么 怎么 这个 那个 这些 那些 还是 还有 因为 所以 但是 可以 如果 或者 以及 而且 并且 然后 已经 能够
    希望 觉得 认为 建议 意见 问题 方面 进行 一些 一下 比较 非常 特别 更加 更 最 多 少 对 把 被 让 给 与 及 或 等
    之 其 为 以 于 从 向 跟 同 而 并 又 再 才 只 还 能 可 应 应该 需要 没 无 吗 呢 吧 啊 呀 哦 嗯 哈 么 啦 嘛 喔
    个 些 每 各 这样 那样 这么 那么 时候 现在 今后 以后 目前 一直 一起 大家 我们村 谢谢 感谢 谢谢你们 没什么 暂无
    无意见 没意见 挺 蛮 太 真 总是 经常 有些 有点 一点 很多 许多 所有 其他 其它 另外 通过 关于 对于 根据 由于
    """.split()
)

_MEANINGLESS = re.compile(r"^[\W\d_a-zA-Z]+$")


def segmenter():
    """jieba's tokenizer, loaded once per process on first use (about a second), never at import."""
    global _segmenter
    if _segmenter is None:
        with _lock:
            if _segmenter is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                from django.conf import settings

                data_dir = getattr(settings, "DATA_DIR", None) if settings.configured else None
                if data_dir:
                    tokenizer.tmp_dir = str(data_dir)
                tokenizer.initialize()
                _segmenter = tokenizer
    return _segmenter


def keywords(text: str) -> set[str]:
    """The distinct meaningful words of one answer (two characters or more, no stop words, no numbers)."""
    if not text:
        return set()
    return {
        w
        for w in segmenter().lcut_for_search(text)
        if len(w) >= 2 and w not in STOP_WORDS and not _MEANINGLESS.match(w)
    }


def top_words(texts: Iterable[str], n: int = 20) -> list[tuple[str, int]]:
    """The ``n`` words found in the most answers, with the number of answers containing each."""
    counts: Counter = Counter()
    for text in texts:
        counts.update(keywords(text))
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
