"""The audit trail: who did what, to which object, from where; append-only and hash-chained.

Actions record their event with ``record_event`` inside their own transaction::

    from audit.recorder import Verb, record_event

    record_event(verb=Verb.RUN_CANCELLED, actor=user, obj=run, workflow=run.workflow)

``manage.py verify_audit`` checks the chain; ``/audit/`` and each workflow's
History page read it. The app is a leaf: other apps write to it through
``record_event`` and it imports none of their views.
"""
