"""The audit trail: who did what, to which object, from where; append-only and hash-chained.

Actions record their event with ``record_event`` inside their own transaction::

    from accounts.audit import Verb, record_event

    record_event(verb=Verb.RUN_CANCELLED, actor=user, obj=run)

``manage.py verify_audit`` checks the chain; ``/audit/`` and each workflow's
History page read it.
"""

from accounts.models import AuditEvent

from .recorder import SCHEDULER, SYSTEM, ObjectRef, record_event, workflow_of

Verb = AuditEvent.Verb

__all__ = ["SCHEDULER", "SYSTEM", "ObjectRef", "Verb", "record_event", "workflow_of"]
