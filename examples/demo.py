"""First-start demo runs, so a newcomer's `make run` shows runs succeeding and retrying."""

from django.contrib.auth.models import Group

from runs.models import Pool, WorkflowRun
from runs.services import trigger_run
from workflows.models import Workflow

DEMO_WORKFLOWS = ("sales_report", "backup_files", "flaky_import", "regional_orders")


def start_demo_runs(*, user) -> list[WorkflowRun]:
    """One run of each demo workflow, only while the database has no run at all."""
    if WorkflowRun.objects.exists():
        return []
    _make_approvers_and_pool()
    workflows = Workflow.objects.filter(slug__in=DEMO_WORKFLOWS, is_active=True)
    return [
        trigger_run(
            workflow=workflow,
            parameters={},
            started_by=user,
            trigger=WorkflowRun.Trigger.DEMO,
            note="Demo run started by `manage.py up` on its first start.",
        )
        for workflow in workflows
    ]


def _make_approvers_and_pool() -> None:
    """The Finance group and the bank_api pool of the demo workflow ``supplier_payment``."""
    Group.objects.get_or_create(name="Finance")
    Pool.objects.get_or_create(
        name="bank_api", defaults={"slots": 1, "description": "The bank's payment API (demo)."}
    )
