"""What the real-browser tests share: Debian's chromium through Playwright, a phone-sized signed-in page, and a
watch for console errors and failed requests. (Test support only; imported by the ``test_browser`` modules.)

All database work of a test happens before the browser starts, or through ``outside_the_loop``: Playwright's
sync API runs an event loop in the test's thread, and Django refuses ORM calls inside one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection

from fulian.conftest import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 15_000


# the elements sticking out on the right, for the failure message: which one widened the page
_WIDE = """(width) => [...document.querySelectorAll('body *')]
  .filter((e) => e.getBoundingClientRect().right > width + 1)
  .map((e) => `${e.tagName.toLowerCase()}#${e.id}.${e.className} ${Math.round(e.getBoundingClientRect().right)}px`
    + ` "${(e.textContent || '').trim().slice(0, 40)}"`)
  .slice(0, 10)"""


def assert_fits(page, width: int = PHONE["width"]) -> None:
    """No sideways scrolling on a phone: the page is no wider than the screen. Measured once the page has
    loaded (its stylesheets applied: the DOM a wait returns on may be laid out before them); a failure names
    the elements that stick out."""
    page.wait_for_load_state("load")
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, (page.url, scroll, page.evaluate(_WIDE, width))


@contextmanager
def launch() -> Iterator:
    """A headless chromium for one test (skipped, with the reason, where chromium is not installed)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def outside_the_loop(fn):
    """Run ORM code in a plain thread (Playwright's sync API keeps an event loop in this one)."""
    result = {}

    def run():
        try:
            result["value"] = fn()
        finally:
            connection.close()

    t = threading.Thread(target=run)
    t.start()
    t.join()
    return result.get("value")


def watch(page, problems: list[str]) -> None:
    """Collect page errors, console errors and HTTP errors of ``page`` into ``problems``."""
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on(
        "console",
        lambda msg: (
            problems.append(f"console: {msg.text}")
            if msg.type == "error" and not msg.location.get("url", "").endswith("/favicon.ico")
            else None
        ),
    )
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)


def sign_in(browser, live_server, username: str):
    """A new phone-sized context signed in as ``username`` (the cast's password); returns (context, page)."""
    context = browser.new_context(
        viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True, accept_downloads=True
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server.url}/orgs/units/*/")
    return context, page
