from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "fulian.orgs"
    verbose_name = "组织"
