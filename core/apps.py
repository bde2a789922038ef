from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "平台"

    def ready(self):
        from django.db.backends.signals import connection_created

        from core.ops import celery_signals, metrics
        from core.ops.request_id import install_record_factory

        install_record_factory()
        connection_created.connect(metrics.observe_queries, dispatch_uid="yanxiu-query-metrics")
        celery_signals.connect()
