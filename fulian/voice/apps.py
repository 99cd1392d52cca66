from django.apps import AppConfig


class VoiceConfig(AppConfig):
    name = "fulian.voice"
    verbose_name = "民意"
