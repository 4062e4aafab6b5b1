"""How a run started, in words on the pages, and as a filter of the runs page and the API."""

import pytest
from django.urls import reverse

from accounts.testing import make_user
from examples.demo import start_demo_runs
from runs.models import WorkflowRun
from runs.testing import use_workflows

from .api_world import ENGINE_WORKFLOWS, build_world
from .pages_world import make_run, page_world


@pytest.fixture
def world(db, tmp_path):
    with page_world(tmp_path) as built:
        yield built


def page(client, user, url) -> str:
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_the_run_page_says_a_run_came_from_the_command_line(client, world):
    run = make_run(world.report, trigger="command_line")
    html = page(client, world.operator, reverse("runs:detail", args=[run.pk]))
    assert "<code>manage.py trigger</code>" in html
    assert "(from the command line)" in html
    assert ">not recorded</span>" not in html  # the "Started by" line names its source


def test_the_run_page_names_who_was_credited_with_trigger_as(client, world):
    run = make_run(world.report, trigger="command_line", started_by=world.operator)
    html = page(client, world.viewer, reverse("runs:detail", args=[run.pk]))
    assert "operator" in html
    assert "(from the command line)" in html


def test_the_runs_page_shows_and_filters_command_line_and_demo_runs(client, world):
    by_hand = make_run(world.report)
    terminal = make_run(world.report, trigger="command_line")
    demo = make_run(world.report, trigger="demo", started_by=world.root)
    url = reverse("runs:list")

    html = page(client, world.root, url)
    assert "From the command line" in html
    assert "(as a demo)" in html
    assert ">From the command line</option>" in html and ">As a demo</option>" in html
    for trigger, expected in (("command_line", terminal), ("demo", demo), ("manual", by_hand)):
        html = page(client, world.root, f"{url}?trigger={trigger}")
        shown = [run for run in (by_hand, terminal, demo) if f"/runs/{run.pk}/" in html]
        assert shown == [expected]


def test_the_demo_runs_are_demo_runs(db):
    runs = start_demo_runs(user=make_user("admin", superuser=True))
    started = sorted(run.workflow.slug for run in runs)
    assert started == ["backup_files", "flaky_import", "regional_orders", "sales_report"]
    assert {run.trigger for run in runs} == {"demo"}


def test_the_api_filters_runs_by_how_they_started(db):
    with use_workflows(ENGINE_WORKFLOWS):
        world = build_world()
        manual = world.start()
        terminal = world.start()
        WorkflowRun.objects.filter(pk=terminal.pk).update(trigger="command_line")
        admin = world.api("admin")

        response = admin.get("/runs", {"trigger": "command_line"})
        assert response.status_code == 200
        assert [item["id"] for item in response.json()["items"]] == [terminal.pk]
        assert response.json()["items"][0]["trigger"] == "command_line"
        response = admin.get("/runs", {"trigger": "manual"})
        assert [item["id"] for item in response.json()["items"]] == [manual.pk]

        refused = admin.get("/runs", {"trigger": "by_magic"})
        assert refused.status_code == 422
        assert "trigger" in refused.content.decode()
        assert "command_line" in refused.content.decode()


def test_the_trigger_kinds_speak_french(client, world):
    make_run(world.report, trigger="command_line")
    client.force_login(world.root)
    html = client.get(reverse("runs:list"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Depuis la ligne de commande" in html
    assert ">En démonstration</option>" in html
