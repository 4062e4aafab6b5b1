"""The run page's second round: results, the note, cancel with a reason, the stale banner,
durations over all attempts, and the log header while following."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from runs.models import TaskAttempt, TaskLogChunk, TaskRun, WorkflowRun
from runs.notes import NOTE_MAX_LENGTH, NoteRefused, run_note_save
from runs.states import RunState

from .pages_world import make_run, page_world


@pytest.fixture
def world(db, tmp_path):
    with page_world(tmp_path) as built:
        yield built


def page_of(client, user, url, **headers):
    client.force_login(user)
    return client.get(url, **headers).content.decode()


def test_it_shows_each_result_as_indented_json_and_folds_long_ones(client, world):
    run = make_run(world.report)
    TaskRun.objects.filter(run=run, task_name="fetch").update(result=list(range(40)))
    TaskRun.objects.filter(run=run, task_name="add_up").update(result={"total": 6})

    page = page_of(client, world.viewer, reverse("runs:detail", args=[run.pk]))

    assert '<pre class="result">{\n  &quot;total&quot;: 6\n}</pre>' in page
    folded = page.split('data-result-of="fetch"', 1)[1].split("</details>", 1)[0]
    assert "<details" in folded and "<summary><code>[0, 1, 2," in folded
    assert 'data-result-of="send"' not in page  # it returned nothing


def test_a_huge_result_is_cut_with_a_pointer_to_the_api(client, world):
    run = make_run(world.report)
    TaskRun.objects.filter(run=run, task_name="fetch").update(result="x" * 50_000)

    page = page_of(client, world.viewer, reverse("runs:detail", args=[run.pk]))

    assert "more characters (the API gives the whole result)" in page
    assert len(page) < 40_000


def test_an_editor_writes_a_note_kept_with_who_and_when_and_audited(client, world):
    run = make_run(world.report)
    client.force_login(world.editor)

    response = client.post(reverse("runs:note", args=[run.pk]), {"note": "Rerun for March"})

    assert response.status_code == 302
    run.refresh_from_db()
    assert (run.note, run.note_by) == ("Rerun for March", world.editor)
    assert run.note_at is not None
    event = AuditEvent.objects.get(verb="run.note_changed")
    assert (event.actor, event.details) == (world.editor, {"old": "", "new": "Rerun for March"})
    page = client.get(reverse("runs:detail", args=[run.pk])).content.decode()
    assert "Rerun for March" in page and "— editor" in page and "Edit the note" in page


def test_an_operator_may_not_write_a_note_and_nothing_changes(client, world):
    run = make_run(world.report)
    client.force_login(world.operator)

    response = client.post(reverse("runs:note", args=[run.pk]), {"note": "mine"})

    assert response.status_code == 403
    run.refresh_from_db()
    assert run.note == "" and not AuditEvent.objects.filter(verb="run.note_changed").exists()
    page = client.get(reverse("runs:detail", args=[run.pk])).content.decode()
    assert "Add a note" not in page


def test_a_note_too_long_is_refused_with_the_reason(world):
    run = make_run(world.report)

    with pytest.raises(NoteRefused, match=f"at most {NOTE_MAX_LENGTH} characters"):
        run_note_save(run=run, text="x" * (NOTE_MAX_LENGTH + 1), user=world.editor)

    run.refresh_from_db()
    assert run.note == ""


def test_saving_the_same_note_again_changes_and_records_nothing(world):
    run = make_run(world.report)
    assert run_note_save(run=run, text="once", user=world.editor)

    assert not run_note_save(run=run, text="  once ", user=world.owner)

    run.refresh_from_db()
    assert run.note_by == world.editor
    assert AuditEvent.objects.filter(verb="run.note_changed").count() == 1


def test_cancel_asks_first_then_keeps_who_and_why(client, world):
    run = make_run(world.report, state="running")
    client.force_login(world.editor)
    run_page = client.get(reverse("runs:detail", args=[run.pk])).content.decode()
    assert f'id="cancel-run" href="/runs/{run.pk}/cancel/"' in run_page

    client.post(reverse("runs:cancel", args=[run.pk]), {"reason": "Wrong month"})

    run.refresh_from_db()
    assert (run.state, run.cancelled_by, run.cancel_reason) == (
        RunState.CANCELLED,
        world.editor,
        "Wrong month",
    )
    event = AuditEvent.objects.get(verb="run.cancelled")
    assert event.details == {"previous_state": "running", "reason": "Wrong month"}
    page = client.get(reverse("runs:detail", args=[run.pk])).content.decode()
    assert "Cancelled by editor. Reason: <q>Wrong month</q>" in page


def test_a_reason_too_long_cancels_nothing(client, world):
    run = make_run(world.report, state="running")
    client.force_login(world.editor)

    response = client.post(reverse("runs:cancel", args=[run.pk]), {"reason": "x" * 501})

    assert response.status_code == 400
    assert "at most 500 characters" in response.content.decode()
    assert WorkflowRun.objects.get(pk=run.pk).state == RunState.RUNNING


def test_the_started_banner_goes_once_the_run_ends(client, world):
    running = make_run(world.report, state="running")
    ended = make_run(world.report, state="success")

    live = page_of(
        client, world.viewer, reverse("runs:detail", args=[running.pk]), HTTP_HX_REQUEST="true"
    )
    final = client.get(reverse("runs:detail", args=[ended.pk]), HTTP_HX_REQUEST="true")

    assert 'id="messages"' not in live
    assert '<ul id="messages" hx-swap-oob="delete"></ul>' in final.content.decode()


def test_the_duration_counts_every_attempt(client, world):
    run = make_run(world.report, state="success")
    task = TaskRun.objects.get(run=run, task_name="fetch")
    start = task.started_at
    TaskRun.objects.filter(pk=task.pk).update(
        attempt=3, max_attempts=3, finished_at=start + timedelta(seconds=10)
    )
    for number in (1, 2):
        begun = start - timedelta(minutes=number)
        TaskAttempt.objects.create(
            task_run=task,
            number=number,
            state="failed",
            started_at=begun,
            finished_at=begun + timedelta(seconds=20),
        )

    page = page_of(client, world.viewer, reverse("runs:detail", args=[run.pk]))

    assert "50 s over 3 attempts" in page


def test_the_log_header_follows_the_size_while_the_task_writes(client, world):
    run = make_run(world.report, state="running")
    task = TaskRun.objects.get(run=run, task_name="fetch")
    TaskLogChunk.objects.create(task_run=task, attempt=1, seq=0, text="a" * 2048 + "\n")
    url = reverse("runs:task_log_tail", args=[run.pk, "fetch"])

    tail = page_of(client, world.viewer, f"{url}?attempt=1&after=0&line=1")

    assert 'id="log-header" hx-swap-oob="true"' in tail
    assert "2.0\xa0KB of text." in tail
    assert timezone.now() > task.started_at


# Session, user; the run with its workflow, note writer and canceller (one query, run_for);
# the editor's access (4).
NOTE_PAGE_QUERIES = 7
CANCEL_PAGE_QUERIES = 7


def test_the_note_and_cancel_pages_run_a_constant_number_of_queries(
    client, world, django_assert_num_queries
):
    run = make_run(world.report, state="running")
    run_note_save(run=run, text="first", user=world.editor)
    client.force_login(world.editor)

    with django_assert_num_queries(NOTE_PAGE_QUERIES):
        client.get(reverse("runs:note", args=[run.pk]))
    with django_assert_num_queries(CANCEL_PAGE_QUERIES):
        client.get(reverse("runs:cancel", args=[run.pk]))
