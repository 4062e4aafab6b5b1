"""Home: the workflows a user may see, searchable, with last runs, schedule and Run button."""

import pytest
from django.urls import reverse

from accounts.testing import give_role, make_user, make_workflow
from workflows.models import Workflow
from workflows.services import pause_workflow

from .pages_world import make_run, page_world


@pytest.fixture
def world(db, tmp_path):
    with page_world(tmp_path) as built:
        yield built


HOME = "/"


def home(client, user, query=""):
    client.force_login(user)
    return client.get(HOME + query)


def test_it_resolves_the_names_the_admin_and_other_pages_link_to(db):
    assert reverse("workflows:list") == "/"
    assert reverse("workflows:detail", args=["x"]) == "/workflows/x/"
    assert make_workflow("linked").get_absolute_url() == "/workflows/linked/"


def test_it_lists_only_the_workflows_the_user_may_see(client, world):
    page = home(client, world.viewer).content.decode()

    assert "Report" in page
    assert "Cleanup" not in page


def test_it_shows_the_run_button_only_to_those_who_may_start_runs(client, world):
    run_url = reverse("workflows:run", args=["report"])

    assert run_url in home(client, world.operator).content.decode()
    assert run_url not in home(client, world.viewer).content.decode()


def test_it_finds_workflows_by_words_of_their_title_or_description(client, world):
    assert "Report" in home(client, world.root, "?q=managers").content.decode()
    page = home(client, world.root, "?q=scratch").content.decode()
    assert "Cleanup" in page
    assert 'href="/workflows/report/"' not in page


def test_it_filters_by_tag_and_lists_the_tags_to_choose_from(client, world):
    page = home(client, world.root, "?tag=ops").content.decode()

    assert 'href="/workflows/cleanup/"' in page
    assert 'href="/workflows/report/"' not in page
    assert '<option value="finance">finance</option>' in page


def test_it_says_so_when_nothing_matches(client, world):
    page = home(client, world.root, "?tag=no-such-tag").content.decode()

    assert "No workflow matches this search." in page


def test_it_shows_the_last_ten_runs_as_squares_linking_to_them(client, world):
    runs = [make_run(world.report, state="failed" if n % 2 else "success") for n in range(12)]

    page = home(client, world.viewer).content.decode()

    shown = [run for run in runs if reverse("runs:detail", args=[run.pk]) in page]
    assert shown == runs[-10:]
    assert 'class="sq st-failed"' in page


def test_it_shows_the_schedule_in_words_with_the_next_run(client, world):
    give_role(world.viewer, "viewer", world.cleanup)

    page = home(client, world.viewer).content.decode()

    assert "at 06:30" in page
    assert "Next run:" in page
    assert "Only when started by hand" in page  # the report has no schedule


def test_it_marks_paused_workflows(client, world):
    pause_workflow(workflow=world.report, paused=True, user=world.root)

    assert "Paused" in home(client, world.viewer).content.decode()


def test_it_tells_a_user_without_any_role_to_ask_for_access(client, world):
    page = home(client, world.stranger).content.decode()

    assert "No workflow is shared with you yet" in page
    assert 'href="/workflows/' not in page


def test_it_tells_a_developer_how_to_add_a_first_workflow(client, db):
    Workflow.objects.all().delete()

    page = home(client, make_user("root", superuser=True)).content.decode()

    assert "No workflow yet" in page
    assert "workflows.py" in page
    assert "sync_workflows" in page


@pytest.mark.parametrize("number", ["abc", "0", "99"])
def test_it_answers_404_for_a_page_that_does_not_exist(client, world, number):
    assert home(client, world.root, f"?page={number}").status_code == 404


def test_it_asks_anonymous_visitors_to_log_in(client, db):
    response = client.get(HOME)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
