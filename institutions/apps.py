from django.apps import AppConfig


class InstitutionsConfig(AppConfig):
    name = "institutions"
    verbose_name = "培训机构准入"
