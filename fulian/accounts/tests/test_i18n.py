"""Chinese first, English on request: the browser's language is ignored, the footer switch is not."""

import re
from pathlib import Path

from django.conf import settings
from django.urls import reverse
from django.utils import translation

PO = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES" / "django.po"


def _po_entries() -> dict[str, str]:
    """msgid → msgstr of the English catalogue (continued lines joined)."""
    entries = {}
    for block in PO.read_text(encoding="utf-8").split("\n\n"):
        parts = re.findall(r'^(msgid|msgstr)((?:\s*".*"\n?)+)', block + "\n", flags=re.M)
        fields = {key: "".join(re.findall(r'"(.*)"', value)) for key, value in parts}
        if fields.get("msgid"):
            entries[fields["msgid"]] = fields.get("msgstr", "")
    return entries


def test_an_english_browser_still_gets_chinese(client, db):
    page = client.get(reverse("accounts:login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    html = page.content.decode()
    assert '<html lang="zh-CN">' in html and "<h1>登录</h1>" in html and "用户名或手机号" in html
    assert page["Content-Language"] == "zh-hans"


def test_the_footer_switch_turns_the_shell_english_and_back(client, db):
    switched = client.post(reverse("set_language"), {"language": "en"}, HTTP_REFERER="/accounts/login/")
    assert switched.status_code == 302 and switched["Location"] == "/accounts/login/"
    html = client.get(reverse("accounts:login")).content.decode()
    assert '<html lang="en">' in html and "<h1>Sign in</h1>" in html and "Username or mobile number" in html
    assert "Women's rights hotline 12338" in html.replace("&#x27;", "'")
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    assert "<h1>登录</h1>" in client.get(reverse("accounts:login")).content.decode()


def test_an_unknown_language_cookie_falls_back_to_chinese(client, db):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    assert "<h1>登录</h1>" in client.get(reverse("accounts:login")).content.decode()


def test_every_catalogue_entry_is_translated_and_compiled():
    entries = _po_entries()
    assert len(entries) >= 20
    with translation.override("en"):
        for msgid, msgstr in entries.items():
            assert msgstr, f"untranslated: {msgid}"
            # the .mo is what Django reads: a stale .mo (not recompiled after editing the .po) fails here
            assert translation.gettext(msgid) == msgstr, msgid


def test_every_translated_template_text_is_in_the_catalogue():
    """A new {% translate %} without its English entry would show Chinese in the English shell."""
    entries = _po_entries()
    found = [
        (path.name, text)
        for path in Path(settings.BASE_DIR).rglob("templates/**/*.html")
        for text in re.findall(r'\{% translate "([^"]+)" %\}', path.read_text(encoding="utf-8"))
    ]
    assert ("base.html", "退出") in found  # the scan does read the templates
    assert [(name, text) for name, text in found if text not in entries] == []
