"""Test helpers for the audit trail."""

from audit.models import AuditEvent


class AuditTrail:
    """The events recorded since it was made (migrate's sync recorded some before any test)."""

    def __init__(self):
        self.start = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0

    def events(self, **filters) -> list[AuditEvent]:
        """The new events matching ``filters``, oldest first."""
        return list(AuditEvent.objects.filter(id__gt=self.start, **filters).order_by("id"))

    def only(self, **filters) -> AuditEvent:
        """The one new event (matching ``filters``); fails when there are none or several."""
        events = self.events(**filters)
        assert len(events) == 1, [f"{event.verb} {event.object_label}" for event in events]
        return events[0]
