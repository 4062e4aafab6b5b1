"""Roles, API tokens and sync each write exactly one audit event per change."""

import textwrap
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse

from accounts.models import ApiToken
from accounts.services import AccessChangeError, grant_role, revoke_role
from accounts.testing import give_role, make_user, make_workflow
from audit.testing import AuditTrail
from workflows.models import Workflow, WorkflowSchedule
from workflows.registry import discover
from workflows.sync import sync_workflows

pytestmark = pytest.mark.django_db


@pytest.fixture
def payroll():
    return make_workflow("payroll", title="Payroll export")


@pytest.fixture
def olivia(payroll):
    owner = make_user("olivia")
    give_role(owner, "owner", payroll)
    return owner


@pytest.fixture
def bob():
    return make_user("bob")


# --- Roles ---------------------------------------------------------------------------------------


def test_it_records_a_role_granted_to_a_user(payroll, olivia, bob):
    trail = AuditTrail()

    grant_role(workflow=payroll, role="operator", to_user=bob, by=olivia)

    event = trail.only()
    assert (event.verb, event.actor, event.workflow_slug) == ("role.granted", olivia, "payroll")
    assert (event.object_type, event.object_id, event.object_label) == (
        "auth.user",
        str(bob.pk),
        "bob",
    )
    assert event.details == {"role": "operator", "previous_role": None}


def test_it_records_the_role_a_grant_replaces(payroll, olivia, bob):
    give_role(bob, "viewer", payroll)
    trail = AuditTrail()

    grant_role(workflow=payroll, role="editor", to_user=bob, by=olivia)

    assert trail.only().details == {"role": "editor", "previous_role": "viewer"}


def test_it_records_a_role_granted_to_a_group(payroll, olivia):
    accounting = Group.objects.create(name="Accounting")
    trail = AuditTrail()

    grant_role(workflow=payroll, role="viewer", to_group=accounting, by=olivia)

    event = trail.only()
    assert (event.verb, event.object_type, event.object_label) == (
        "role.granted",
        "auth.group",
        "Accounting",
    )


def test_it_records_nothing_for_a_refused_or_empty_change(payroll, olivia, bob):
    viewer = make_user("victor")
    give_role(viewer, "viewer", payroll)
    give_role(bob, "operator", payroll)
    trail = AuditTrail()

    with pytest.raises(AccessChangeError):
        grant_role(workflow=payroll, role="owner", to_user=bob, by=viewer)
    grant_role(workflow=payroll, role="operator", to_user=bob, by=olivia)  # already so

    assert trail.events() == []


def test_it_records_a_role_revoked(payroll, olivia, bob):
    give_role(bob, "operator", payroll)
    trail = AuditTrail()

    revoke_role(workflow=payroll, from_user=bob, by=olivia)

    event = trail.only()
    assert (event.verb, event.actor, event.object_id, event.workflow_slug) == (
        "role.revoked",
        olivia,
        str(bob.pk),
        "payroll",
    )
    assert event.details == {"previous_role": "operator"}


def test_it_records_a_role_given_on_the_access_page_with_the_request(client, payroll, olivia, bob):
    client.force_login(olivia)
    trail = AuditTrail()

    client.post(
        reverse("accounts:workflow_access", args=["payroll"]), {"user": "bob", "role": "viewer"}
    )

    assert trail.only().verb == "role.granted"


# --- API tokens ----------------------------------------------------------------------------------


def test_it_records_a_token_created_on_the_my_tokens_page_without_its_secret(client, bob):
    client.force_login(bob)
    trail = AuditTrail()

    response = client.post(reverse("accounts:tokens"), {"name": "nightly CI"})

    token = ApiToken.objects.get(user=bob)
    event = trail.only()
    assert (event.verb, event.actor, event.object_type, event.object_id) == (
        "token.created",
        bob,
        "accounts.apitoken",
        str(token.pk),
    )
    assert event.object_label == f"nightly CI ({token.display_key})"
    assert event.details == {"owner": "bob", "name": "nightly CI", "expires_at": None}
    raw = response.context["new_token"]["raw"]
    assert raw not in event.details_text and raw not in event.object_label


def test_it_records_a_token_created_by_the_command_as_done_by_the_system(bob):
    trail = AuditTrail()

    call_command("createtoken", "bob", "--name", "deploy", stdout=StringIO(), stderr=StringIO())

    event = trail.only()
    assert (event.verb, event.actor, event.actor_label) == ("token.created", None, "system")
    assert event.details["owner"] == "bob"


def test_it_records_a_token_revoked_once(client, bob):
    client.force_login(bob)
    client.post(reverse("accounts:tokens"), {"name": "old laptop"})
    token = ApiToken.objects.get(user=bob)
    trail = AuditTrail()

    client.post(reverse("accounts:token_revoke", args=[token.pk]))
    client.post(reverse("accounts:token_revoke", args=[token.pk]))  # already revoked

    event = trail.only()
    assert (event.verb, event.actor, event.object_id) == ("token.revoked", bob, str(token.pk))
    assert event.details == {"owner": "bob", "name": "old laptop"}


# --- Sync: workflows and schedules declared in code ---------------------------------------------

WORKFLOW_FILE = """
from workflows import shell, workflow

@workflow(schedule={schedule!r})
def nightly():
    \"\"\"Nightly job.\"\"\"
    shell("echo", ["echo", "hi"])
"""


def sync_with(folder, schedule=None, *, present=True):
    path = folder / "nightly.py"
    if present:
        path.write_text(textwrap.dedent(WORKFLOW_FILE.format(schedule=schedule)))
    else:
        path.unlink()
    # The folder is left empty: deactivating its workflows needs prune (sync's safety).
    sync_workflows(registry=discover(), prune=not present)
    return path


def test_it_records_a_workflow_added_by_sync(workflows_dir):
    trail = AuditTrail()

    path = sync_with(workflows_dir)

    workflow = Workflow.objects.get(slug="nightly")
    event = trail.only()
    assert (event.verb, event.actor, event.actor_label) == ("workflow.added", None, "system")
    assert (event.object_type, event.object_id, event.object_label, event.workflow_slug) == (
        "workflows.workflow",
        str(workflow.pk),
        workflow.title,
        "nightly",
    )
    assert event.details == {"source_file": str(path)}


def test_it_records_a_workflow_deactivated_and_added_again_by_sync(workflows_dir):
    path = sync_with(workflows_dir)
    trail = AuditTrail()

    sync_with(workflows_dir, present=False)
    deactivated = trail.only()
    sync_with(workflows_dir)

    assert (deactivated.verb, deactivated.actor_label, deactivated.workflow_slug) == (
        "workflow.deactivated",
        "system",
        "nightly",
    )
    again = trail.events()[-1]
    assert (again.verb, again.details) == (
        "workflow.added",
        {"source_file": str(path), "reactivated": True},
    )


def test_it_records_a_schedule_created_by_sync(workflows_dir, settings):
    settings.TIME_ZONE = "UTC"
    sync_with(workflows_dir)
    trail = AuditTrail()

    sync_with(workflows_dir, "0 3 * * *")

    schedule = WorkflowSchedule.objects.get(workflow__slug="nightly")
    event = trail.only(verb="schedule.created")  # beside the new version's code_changed
    assert (event.verb, event.actor_label, event.workflow_slug) == (
        "schedule.created",
        "system",
        "nightly",
    )
    assert (event.object_type, event.object_id) == ("workflows.workflowschedule", str(schedule.pk))
    assert event.details == {"source": "sync", "timing": "cron 0 3 * * * UTC"}


def test_it_records_a_schedule_changed_by_sync_with_before_and_after(workflows_dir, settings):
    settings.TIME_ZONE = "UTC"
    sync_with(workflows_dir, "0 3 * * *")
    trail = AuditTrail()

    sync_with(workflows_dir, "15 4 * * *")

    event = trail.only(verb="schedule.changed")
    assert event.details == {
        "source": "sync",
        "timing": {"before": "cron 0 3 * * * UTC", "after": "cron 15 4 * * * UTC"},
    }


def test_it_records_a_schedule_deleted_by_sync(workflows_dir, settings):
    settings.TIME_ZONE = "UTC"
    sync_with(workflows_dir, "0 3 * * *")
    schedule = WorkflowSchedule.objects.get(workflow__slug="nightly")
    trail = AuditTrail()

    sync_with(workflows_dir, None)

    event = trail.only(verb="schedule.deleted")
    assert (event.object_id, event.workflow_slug, event.actor_label) == (
        str(schedule.pk),
        "nightly",
        "system",
    )
    assert event.details == {"source": "sync", "timing": "cron 0 3 * * * UTC"}
    assert not WorkflowSchedule.objects.filter(pk=schedule.pk).exists()


def test_a_sync_that_changes_nothing_records_nothing(workflows_dir):
    sync_with(workflows_dir, "0 3 * * *")
    trail = AuditTrail()

    sync_workflows(registry=discover())

    assert trail.events() == []
