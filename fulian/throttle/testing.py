"""Test helpers: answer the real CAPTCHA (tests never switch it off)."""

from __future__ import annotations

import re

from .captcha import MAX_ANSWER, _answer_mac, _payload, new_challenge


def solve(token: str) -> str:
    """The answer to ``token``'s question, found from the token with the server's key (not from the text)."""
    data = _payload(token, max_age=None)
    if data is None:
        raise ValueError("not a captcha token")
    for n in range(MAX_ANSWER + 1):
        if _answer_mac(data["n"], n) == data["h"]:
            return str(n)
    raise ValueError("no answer found")


def solved(prefix: str = "") -> dict[str, str]:
    """POST data for a fresh, correctly answered challenge: ``{"captcha_token": …, "captcha": …}``."""
    ch = new_challenge()
    p = f"{prefix}-" if prefix else ""
    return {f"{p}captcha_token": ch.token, f"{p}captcha": solve(ch.token)}


_TOKEN_RE = re.compile(r'name="(?P<name>(?:[\w-]+-)?captcha_token)"[^>]*value="(?P<value>[^"]+)"')


def solved_from(html: str | bytes) -> dict[str, str]:
    """POST data answering the challenge shown on a rendered page (the token in its hidden input)."""
    if isinstance(html, bytes):
        html = html.decode()
    m = _TOKEN_RE.search(html)
    if m is None:
        raise ValueError("no captcha_token on the page")
    name, token = m.group("name"), m.group("value")
    return {name: token, name.removesuffix("_token"): solve(token)}
