"""The runs page: every visible run, filters with clear messages, pages."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from runs.models import WorkflowRun

from .pages_world import make_run, page_world


@pytest.fixture
def world(db, tmp_path):
    with page_world(tmp_path) as built:
        yield built


URL = reverse("runs:list")


def listed(client, user, query="") -> list[int]:
    client.force_login(user)
    response = client.get(URL + query)
    assert response.status_code == 200
    page = response.content.decode()
    return [
        run.pk for run in WorkflowRun.objects.all() if reverse("runs:detail", args=[run.pk]) in page
    ]


def test_it_lists_only_runs_of_visible_workflows_newest_first(client, world):
    mine = make_run(world.report)
    other = make_run(world.cleanup)

    assert listed(client, world.viewer) == [mine.pk]
    client.force_login(world.root)
    page = client.get(URL).content.decode()
    assert page.index(f"/runs/{other.pk}/") < page.index(f"/runs/{mine.pk}/")


def test_it_filters_by_workflow_state_and_starter(client, world):
    failed = make_run(world.report, state="failed", started_by=world.operator)
    by_schedule = make_run(world.report, trigger="schedule")
    cleanup = make_run(world.cleanup, started_by=world.operator)

    assert listed(client, world.root, "?workflow=cleanup") == [cleanup.pk]
    assert listed(client, world.root, "?state=failed") == [failed.pk]
    assert sorted(listed(client, world.root, "?started_by=OPERATOR")) == [failed.pk, cleanup.pk]
    assert listed(client, world.root, "?trigger=schedule") == [by_schedule.pk]


def test_it_filters_by_a_date_range_in_the_local_time_zone(client, world, settings, time_machine):
    settings.TIME_ZONE = "Europe/Paris"
    time_machine.move_to("2024-06-15 00:30 +02:00", tick=False)  # just after midnight in Paris
    old = make_run(world.report, ago=timedelta(days=10))
    recent = make_run(world.report, ago=timedelta(minutes=20))  # 00:10, Paris time
    yesterday = make_run(world.report, ago=timedelta(minutes=40))  # 23:50 the day before

    assert timezone.localdate().isoformat() == "2024-06-15"
    assert listed(client, world.root, "?since=2024-06-15") == [recent.pk]
    assert listed(client, world.root, "?until=2024-06-05") == [old.pk]
    assert listed(client, world.root, "?since=2024-06-14&until=2024-06-14") == [yesterday.pk]


def test_a_bad_date_gets_a_message_beside_its_field_and_is_not_applied(client, world):
    run = make_run(world.report)
    client.force_login(world.root)

    page = client.get(URL + "?since=31/02/2024").content.decode()

    assert "Enter a date, like 2024-01-31." in page
    assert "Some filters could not be read and are not applied" in page
    assert f"/runs/{run.pk}/" in page


def test_an_end_before_the_start_is_explained(client, world):
    client.force_login(world.root)

    page = client.get(URL + "?since=2024-05-02&until=2024-05-01").content.decode()

    assert "The end date is before the start date." in page


def test_an_unknown_workflow_or_state_is_a_message_not_a_crash(client, world):
    client.force_login(world.viewer)

    page = client.get(URL + "?workflow=cleanup&state=exploded").content.decode()

    assert page.count("Select a valid choice.") == 2


def test_it_pages_through_many_runs(client, world):
    runs = [make_run(world.report, ago=timedelta(minutes=n)) for n in range(55)]

    first = listed(client, world.root)
    second = listed(client, world.root, "?page=2")

    assert len(first) == 50 and len(second) == 5
    assert set(first) | set(second) == {run.pk for run in runs}
    client.force_login(world.root)
    assert "Page 1 of 2" in client.get(URL).content.decode()


@pytest.mark.parametrize("number", ["two", "3", "-1"])
def test_a_page_that_does_not_exist_is_a_404(client, world, number):
    make_run(world.report)
    client.force_login(world.root)

    assert client.get(URL + f"?page={number}").status_code == 404


def test_it_keeps_the_filters_when_paging(client, world):
    for _ in range(51):
        make_run(world.report, state="failed")
    client.force_login(world.root)

    page = client.get(URL + "?state=failed").content.decode()

    assert 'href="?state=failed&amp;page=2"' in page


def test_it_says_so_when_no_run_matches(client, world):
    client.force_login(world.root)

    assert "No run matches these filters." in client.get(URL + "?state=failed").content.decode()
