from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"

    def ready(self):
        # Logins, logouts, failed logins, admin and permission changes go to the trail.
        from .receivers import connect_receivers

        connect_receivers()
