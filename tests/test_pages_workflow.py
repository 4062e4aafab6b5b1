"""The workflow page: description, parameters, schedule, graph, grid of runs, pause."""

import json
import re

import pytest
from django.urls import reverse

from accounts.testing import give_role
from audit.models import AuditEvent
from workflows.models import Workflow

from .pages_world import make_run, page_world


@pytest.fixture
def world(db, tmp_path):
    with page_world(tmp_path) as built:
        yield built


def page_of(client, user, slug="report"):
    client.force_login(user)
    return client.get(reverse("workflows:detail", args=[slug]))


def test_it_explains_what_the_workflow_does_and_its_parameters(client, world):
    page = page_of(client, world.viewer).content.decode()

    assert "Add up the day&#x27;s sales of a region." in page
    assert "Sends the total to the managers." in page
    assert "one of: north, south" in page
    assert "How many rows to add up" in page
    assert "whole number" in page
    assert "It has no schedule: it runs only when someone starts it." in page


def test_it_shows_the_schedule_in_words_and_the_next_run(client, world):
    give_role(world.viewer, "viewer", world.cleanup)

    page = page_of(client, world.viewer, "cleanup").content.decode()

    assert re.search(r"At 06:30, Monday through Friday, UTC", page, re.IGNORECASE)
    assert "Next run:" in page


def test_it_embeds_the_task_graph_for_the_page_to_draw(client, world):
    page = page_of(client, world.viewer).content.decode()

    data = json.loads(re.search(r'id="graph-data" type="application/json">(.*?)</script>', page)[1])
    assert [node["id"] for node in data["nodes"]] == ["fetch", "add_up", "send"]
    assert data["edges"] == [["fetch", "add_up"], ["add_up", "send"]]
    assert "dagre.min.js" in page


def test_it_shows_a_grid_of_the_last_runs_each_cell_linking_to_its_log(client, world):
    old = make_run(world.report, state="success")
    failed = make_run(world.report, state="failed", tasks={"fetch": "success", "add_up": "failed"})

    page = page_of(client, world.viewer).content.decode()

    log = reverse("runs:task_log", args=[failed.pk, "add_up"])
    assert re.search(rf'class="sq st-failed" href="{log}"', page)
    assert reverse("runs:task_log", args=[old.pk, "send"]) in page
    # The failed run had no "send" task: its cell is empty, not a link.
    assert reverse("runs:task_log", args=[failed.pk, "send"]) not in page


def test_it_shows_at_most_25_runs_in_the_grid(client, world):
    runs = [make_run(world.report) for _ in range(27)]

    page = page_of(client, world.viewer).content.decode()

    assert reverse("runs:detail", args=[runs[1].pk]) not in page
    assert reverse("runs:detail", args=[runs[2].pk]) in page


def test_it_offers_run_pause_and_access_according_to_the_role(client, world):
    run_url = reverse("workflows:run", args=["report"])
    pause_url = reverse("workflows:pause", args=["report"])
    access_url = reverse("accounts:workflow_access", args=["report"])

    viewer = page_of(client, world.viewer).content.decode()
    operator = page_of(client, world.operator).content.decode()
    editor = page_of(client, world.editor).content.decode()
    owner = page_of(client, world.owner).content.decode()

    assert run_url not in viewer and pause_url not in viewer and access_url not in viewer
    assert run_url in operator and pause_url not in operator
    assert pause_url in editor and access_url not in editor
    assert access_url in owner


def test_it_links_staff_to_the_admin_page_and_the_admin_back_to_it(client, world):
    admin_url = reverse("admin:workflows_workflow_change", args=[world.report.pk])

    assert admin_url in page_of(client, world.root).content.decode()
    assert admin_url not in page_of(client, world.owner).content.decode()
    client.force_login(world.root)
    view_on_site = re.search(r'href="(/admin/r/[^"]+)"', client.get(admin_url).content.decode())[1]
    assert client.get(view_on_site)["Location"].endswith("/workflows/report/")


def test_an_editor_pauses_and_unpauses_with_an_audit_event_each(client, world):
    client.force_login(world.editor)
    url = reverse("workflows:pause", args=["report"])

    response = client.post(url, {"action": "pause"}, follow=True)
    assert "Paused: its schedule starts no run until it is unpaused." in response.content.decode()
    assert Workflow.objects.get(slug="report").is_paused

    client.post(url, {"action": "pause"})  # twice: nothing more happens
    client.post(url, {"action": "unpause"})
    assert not Workflow.objects.get(slug="report").is_paused
    events = AuditEvent.objects.filter(workflow_slug="report", verb__startswith="workflow.")
    verbs = events.exclude(verb="workflow.added").order_by("id").values_list("verb", "actor")
    assert list(verbs) == [
        ("workflow.paused", world.editor.pk),
        ("workflow.unpaused", world.editor.pk),
    ]


def test_it_refuses_to_pause_for_an_operator_and_hides_the_workflow_from_strangers(client, world):
    url = reverse("workflows:pause", args=["report"])

    client.force_login(world.operator)
    assert client.post(url, {"action": "pause"}).status_code == 403
    client.force_login(world.stranger)
    assert client.post(url, {"action": "pause"}).status_code == 404
    assert not Workflow.objects.get(slug="report").is_paused


def test_it_says_what_went_wrong_with_an_unknown_pause_action(client, world):
    client.force_login(world.editor)

    response = client.post(
        reverse("workflows:pause", args=["report"]), {"action": "explode"}, follow=True
    )

    assert "Nothing changed: say whether to pause or unpause." in response.content.decode()


def test_it_answers_404_for_an_unknown_workflow(client, world):
    assert page_of(client, world.root, "no_such_thing").status_code == 404


def test_it_keeps_showing_a_workflow_removed_from_the_code(client, world):
    Workflow.objects.filter(slug="report").update(is_active=False)

    page = page_of(client, world.operator).content.decode()

    assert "This workflow was removed from the code." in page
    assert reverse("workflows:run", args=["report"]) not in page


def test_it_links_the_history_only_for_those_who_may_read_it(client, world):
    history = reverse("audit:workflow_history", args=["report"])
    assert history not in page_of(client, world.editor).content.decode()
    assert history in page_of(client, world.owner).content.decode()
