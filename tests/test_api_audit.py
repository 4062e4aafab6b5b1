"""State changes made through the API land in the audit trail, through the same services."""

import pytest

from audit.models import AuditEvent
from runs.testing import use_workflows
from tests.api_world import ENGINE_WORKFLOWS, build_world


@pytest.fixture
def world(db):
    with use_workflows(ENGINE_WORKFLOWS):
        yield build_world()


def test_pausing_through_the_api_records_who_paused_which_workflow(world):
    response = world.api("editor").post("/workflows/data_edge/pause")

    assert response.status_code == 200
    event = AuditEvent.objects.get(verb=AuditEvent.Verb.WORKFLOW_PAUSED)
    assert (event.actor, event.workflow_slug) == (world.users["editor"], "data_edge")


def test_a_refused_pause_records_nothing(world):
    response = world.api("viewer").post("/workflows/data_edge/pause")

    assert response.status_code == 403
    assert not AuditEvent.objects.filter(verb=AuditEvent.Verb.WORKFLOW_PAUSED).exists()
