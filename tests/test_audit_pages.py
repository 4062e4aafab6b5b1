"""The audit page, its CSV export and a workflow's History page: rights, filters, pages."""

import csv
import io
import json
from datetime import UTC, datetime

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.testing import give_role, make_user, make_workflow
from audit.models import AuditEvent
from audit.recorder import SCHEDULER, Verb, record_event

pytestmark = pytest.mark.django_db

AUDIT_URL = reverse("audit:audit")
EXPORT_URL = reverse("audit:audit_export")


def history_url(slug):
    return reverse("audit:workflow_history", args=[slug])


@pytest.fixture
def auditor(client):
    user = make_user("audrey")
    user.user_permissions.add(Permission.objects.get(codename="view_auditevent"))
    client.force_login(user)
    return user


@pytest.fixture
def payroll():
    return make_workflow("payroll", title="Payroll export")


def at(day: int):
    return time_machine.travel(datetime(2026, 3, day, 12, 0, tzinfo=UTC), tick=False)


def shown_ids(response) -> list[int]:
    return [event.pk for event in response.context["page"].events]


# --- Who may read it ------------------------------------------------------------------------------


def test_it_refuses_the_audit_page_and_export_without_the_right(client):
    client.force_login(make_user("bob"))

    assert client.get(AUDIT_URL).status_code == 403
    assert client.get(EXPORT_URL).status_code == 403
    assert AUDIT_URL not in client.get(reverse("accounts:tokens")).content.decode()


def test_it_shows_the_audit_page_and_its_menu_link_to_audit_viewers(client, auditor):
    record_event(verb=Verb.LOGIN, actor=auditor)

    response = client.get(AUDIT_URL)

    assert response.status_code == 200
    assert f'href="{AUDIT_URL}"' in response.content.decode()
    assert shown_ids(response)[0] == AuditEvent.objects.latest("id").pk


def test_superusers_see_the_audit_page(client):
    client.force_login(make_user("root", superuser=True))

    assert client.get(AUDIT_URL).status_code == 200


def test_history_is_a_404_for_a_workflow_you_cannot_see(client, payroll):
    client.force_login(make_user("bob"))

    assert client.get(history_url("payroll")).status_code == 404
    assert client.get(history_url("no-such-workflow")).status_code == 404


def test_history_is_a_403_for_a_viewer_who_is_not_owner(client, payroll):
    viewer = make_user("victor")
    give_role(viewer, "editor", payroll)
    client.force_login(viewer)

    assert client.get(history_url("payroll")).status_code == 403


def test_history_shows_owners_the_events_of_their_workflow_only(client, payroll):
    owner = make_user("olivia")
    give_role(owner, "owner", payroll)
    client.force_login(owner)
    ours = record_event(verb=Verb.WORKFLOW_PAUSED, actor=owner, obj=payroll, workflow=payroll)
    record_event(verb=Verb.WORKFLOW_PAUSED, actor=owner, workflow=make_workflow("billing"))

    response = client.get(history_url("payroll"))

    assert response.status_code == 200
    assert shown_ids(response) == [ours.pk]
    assert "History of" in response.content.decode()


def test_audit_viewers_see_any_workflows_history(client, auditor, payroll):
    event = record_event(verb=Verb.WORKFLOW_PAUSED, obj=payroll, workflow=payroll)

    response = client.get(history_url("payroll"))

    assert shown_ids(response) == [event.pk]


# --- Filters --------------------------------------------------------------------------------------


@pytest.fixture
def mixed_events(payroll):
    alice, bob = make_user("alice"), make_user("bob")
    with at(1):
        first = record_event(verb=Verb.LOGIN, actor=alice)
    with at(10):
        second = record_event(
            verb=Verb.RUN_TRIGGERED, actor=bob, workflow=payroll, details={"region": "south"}
        )
    with at(20):
        third = record_event(
            verb=Verb.RUN_TRIGGERED,
            actor_label=SCHEDULER,
            workflow=payroll,
            details={"region": "north"},
        )
    return first, second, third


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"actor": "bob"}, [1]),
        ({"actor": "scheduler"}, [2]),
        ({"verb": "run.triggered"}, [2, 1]),
        ({"workflow": "payroll"}, [2, 1]),
        ({"since": "2026-03-05", "until": "2026-03-10"}, [1]),
        ({"since": "2026-03-10"}, [2, 1]),
        ({"until": "2026-03-01"}, [0]),
        ({"q": "SOUTH"}, [1]),
        ({"verb": "run.triggered", "q": "north"}, [2]),
    ],
)
def test_it_filters_events(client, auditor, mixed_events, query, expected):
    response = client.get(AUDIT_URL, query)

    assert response.status_code == 200
    shown = [pk for pk in shown_ids(response) if pk >= mixed_events[0].pk]
    assert shown == [mixed_events[index].pk for index in expected]


def test_a_bad_date_is_a_message_not_a_traceback(client, auditor):
    response = client.get(AUDIT_URL, {"since": "yesterday-ish"})

    assert response.status_code == 400
    assert "Enter a valid date." in response.content.decode()


def test_an_end_date_before_the_start_date_is_explained(client, auditor):
    response = client.get(AUDIT_URL, {"since": "2026-03-10", "until": "2026-03-01"})

    assert response.status_code == 400
    assert "The end date is before the start date." in response.content.decode()


def test_an_unknown_action_is_a_message(client, auditor):
    response = client.get(AUDIT_URL, {"verb": "run.exploded"})

    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()


# --- Pages ----------------------------------------------------------------------------------------


@pytest.fixture
def many_events():
    return [
        record_event(verb=Verb.TASK_RETRIED, actor_label="pager", details={"n": n})
        for n in range(120)
    ]


def test_it_pages_by_id_with_older_and_newer_links(client, auditor, many_events):
    newest_first = [event.pk for event in reversed(many_events)]

    first = client.get(AUDIT_URL, {"actor": "pager"})
    second = client.get(AUDIT_URL, {"actor": "pager", "before": newest_first[49]})
    third = client.get(AUDIT_URL, {"actor": "pager", "before": newest_first[99]})
    back = client.get(AUDIT_URL, {"actor": "pager", "after": newest_first[50]})

    assert shown_ids(first) == newest_first[:50]
    assert shown_ids(second) == newest_first[50:100]
    assert shown_ids(third) == newest_first[100:]
    assert shown_ids(back) == newest_first[:50]
    assert (first.context["page"].newer_than, first.context["page"].older_than) == (
        None,
        newest_first[49],
    )
    assert third.context["page"].older_than is None
    page = second.content.decode()
    assert f"before={newest_first[99]}" in page and f"after={newest_first[50]}" in page
    assert "actor=pager" in page


def test_a_page_reads_a_constant_number_of_rows_and_never_counts(client, auditor, many_events):
    client.get(AUDIT_URL)  # warm the session and permission caches
    with CaptureQueriesContext(connection) as queries:
        response = client.get(AUDIT_URL, {"before": many_events[-1].pk})

    assert response.status_code == 200
    sql = [query["sql"] for query in queries.captured_queries]
    assert not any("COUNT(" in statement.upper() for statement in sql)
    assert len(sql) <= 5, sql
    assert any("LIMIT 51" in statement for statement in sql)


# --- CSV ------------------------------------------------------------------------------------------


def read_csv(response) -> list[dict]:
    assert response.streaming
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_it_exports_the_filtered_events_as_a_streamed_csv(client, auditor, mixed_events):
    response = client.get(EXPORT_URL, {"workflow": "payroll"})

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="baton-audit-')
    rows = read_csv(response)
    assert [row["id"] for row in rows] == [str(mixed_events[1].pk), str(mixed_events[2].pk)]
    assert rows[0]["actor"] == "bob"
    assert rows[0]["action"] == "run.triggered"
    assert rows[0]["when_utc"] == "2026-03-10T12:00:00+00:00"
    assert json.loads(rows[0]["details"]) == {"region": "south"}
    assert rows[1]["hash"] == mixed_events[2].hash


def test_the_csv_masks_secrets_and_defuses_formulas(client, auditor):
    record_event(
        verb=Verb.RUN_TRIGGERED,
        actor_label='=HYPERLINK("http://evil")',
        details={"api_key": "k-123", "note": "ok"},
    )

    (row,) = read_csv(client.get(EXPORT_URL, {"verb": "run.triggered"}))

    assert row["actor"] == '\'=HYPERLINK("http://evil")'
    assert json.loads(row["details"]) == {"api_key": "********", "note": "ok"}


def test_a_bad_filter_on_export_goes_back_to_the_page_that_explains_it(client, auditor):
    response = client.get(EXPORT_URL, {"since": "not a date"})

    assert response.status_code == 302
    assert response["Location"] == f"{AUDIT_URL}?since=not+a+date"


def test_owners_export_their_workflows_history(client, payroll):
    owner = make_user("olivia")
    give_role(owner, "owner", payroll)
    client.force_login(owner)
    event = record_event(verb=Verb.WORKFLOW_PAUSED, actor=owner, obj=payroll, workflow=payroll)
    record_event(verb=Verb.WORKFLOW_PAUSED, actor=owner, workflow=make_workflow("billing"))

    response = client.get(reverse("audit:workflow_history_export", args=["payroll"]))

    assert [row["id"] for row in read_csv(response)] == [str(event.pk)]
    assert client.get(EXPORT_URL).status_code == 403
