from django.apps import AppConfig


class ThrottleConfig(AppConfig):
    """Ground floor: rate limits and a self-hosted CAPTCHA for everything the public can send."""

    name = "fulian.throttle"
    verbose_name = "访问频率限制"
