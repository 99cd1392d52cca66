"""Chinese first: the UI speaks Simplified Chinese unless the user picked another language.

Django's LocaleMiddleware would follow the browser's Accept-Language, so a county office PC with an English
Windows (or a test browser) would get English. Here only an explicit choice counts: the cookie that Django's
``set_language`` view (``/i18n/setlang/``, the switch in the footer) writes.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import translation


class ChosenLanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.available = {code for code, _ in settings.LANGUAGES}

    def __call__(self, request):
        language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if language not in self.available:
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response
