from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "runs"
    verbose_name = "Runs"

    def ready(self):
        import dramatiq

        from .worker_hooks import prepare_broker

        prepare_broker(dramatiq.get_broker())

        from django.contrib.auth.signals import user_logged_in

        from .notifications.recipients import remember_language_at_login

        # Notifications go out in the language each person uses Baton in.
        user_logged_in.connect(remember_language_at_login, dispatch_uid="baton-notify-language")
