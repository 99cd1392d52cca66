from django.apps import AppConfig


class FilesConfig(AppConfig):
    name = "fulian.files"
    verbose_name = "附件"
