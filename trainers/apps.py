from django.apps import AppConfig


class TrainersConfig(AppConfig):
    name = "trainers"
    verbose_name = "培训专家库"

    def ready(self) -> None:
        from trainers import signals  # noqa: F401 - a session's new date moves its bookings
