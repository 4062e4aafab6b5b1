from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "runs"
    verbose_name = "Runs"

    def ready(self):
        import dramatiq

        from .worker_hooks import prepare_broker

        prepare_broker(dramatiq.get_broker())
