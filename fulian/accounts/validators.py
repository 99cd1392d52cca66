import re

from django.core.exceptions import ValidationError


class LettersAndDigitsValidator:
    """Passwords contain at least one letter and one digit."""

    def validate(self, password, user=None):
        if not (re.search(r"[A-Za-z]", password) and re.search(r"\d", password)):
            raise ValidationError("密码必须同时包含字母和数字。", code="password_letters_digits")

    def get_help_text(self):
        return "密码至少 8 位,且同时包含字母和数字。"
