"""The log page: attempts as tabs, tail first, earlier lines on demand, live tail, download."""

import re

import pytest
from django.urls import reverse

from runs.log_reader import LogReader
from runs.models import TaskAttempt, TaskLogChunk, TaskRun

from .pages_world import make_run, page_world


@pytest.fixture
def world(db, tmp_path):
    with page_world(tmp_path) as built:
        yield built


def write_log(task_run, texts, attempt=1):
    TaskLogChunk.objects.bulk_create(
        TaskLogChunk(task_run=task_run, attempt=attempt, seq=seq, text=text)
        for seq, text in enumerate(texts)
    )


def numbered_lines(html: str) -> list[tuple[int, str]]:
    rows = re.findall(r'data-n="(\d+)"[^>]*></a><span>(.*?)</span>', html)
    return [(int(number), text) for number, text in rows]


@pytest.fixture
def task(world):
    run = make_run(world.report, state="running", tasks={"fetch": "running"})
    return TaskRun.objects.get(run=run, task_name="fetch")


def log_url(task, name="runs:task_log"):
    return reverse(name, args=[task.run_id, task.task_name])


# --- Reading by windows -------------------------------------------------------------------


def test_the_reader_cuts_windows_across_chunks_with_their_line_numbers(task):
    write_log(task, ["one\ntwo\n", "three\nfo", "ur\nfive\n"])
    reader = LogReader(task_run_id=task.pk, attempt=1)

    assert reader.size == len("one\ntwo\nthree\nfour\nfive\n")
    assert reader.read(5, 17) == "wo\nthree\nfou"
    tail = reader.tail(chars=9)  # "our\nfive\n": the cut line is left for "earlier"
    assert tail.lines == [(5, "five")]
    earlier = reader.before(tail.start, chars=12)
    assert earlier.lines == [(3, "three"), (4, "four")]
    assert reader.before(earlier.start).lines == [(1, "one"), (2, "two")]
    assert not reader.before(earlier.start).has_earlier


def test_the_reader_holds_back_a_line_still_being_written(task):
    write_log(task, ["done\nhalf a li"])
    reader = LogReader(task_run_id=task.pk, attempt=1)

    window = reader.tail(whole_lines_only=True)
    assert window.lines == [(1, "done")]
    later = reader.after(window.end, first_line=window.next_line, whole_lines_only=False)
    assert later.lines == [(2, "half a li")]


def test_the_reader_counts_lines_inside_one_huge_chunk(task):
    write_log(task, ["".join(f"line {n}\n" for n in range(1, 50_001))])
    reader = LogReader(task_run_id=task.pk, attempt=1)

    tail = reader.tail(chars=1000)
    assert tail.lines[-1] == (50_000, "line 50000")
    assert tail.lines[0][1] == f"line {tail.lines[0][0]}"


# --- The page -----------------------------------------------------------------------------


def test_it_shows_the_log_with_line_numbers(client, world, task):
    write_log(task, ["Fetching north\n", "<b>not bold</b>\n"])
    client.force_login(world.viewer)

    page = client.get(log_url(task)).content.decode()

    assert numbered_lines(page) == [(1, "Fetching north"), (2, "&lt;b&gt;not bold&lt;/b&gt;")]
    assert "Following the log as it is written" in page


def test_it_opens_a_5_mb_log_at_its_end_and_loads_earlier_lines_on_demand(client, world, task):
    lines = [f"{n:07d} " + "x" * 60 for n in range(1, 80_001)]  # about 5.4 MB
    text = "\n".join(lines) + "\n"
    write_log(task, [text[i : i + 65_536] for i in range(0, len(text), 65_536)])
    client.force_login(world.viewer)

    response = client.get(log_url(task))

    page = response.content.decode()
    shown = numbered_lines(page)
    assert len(response.content) < 400_000
    assert shown[-1] == (80_000, lines[-1])
    assert all(text == lines[number - 1] for number, text in shown)
    earlier_url = re.search(r'hx-get="([^"]+/log/earlier/[^"]+)"', page)[1].replace("&amp;", "&")
    earlier = numbered_lines(client.get(earlier_url).content.decode())
    assert earlier[-1][0] == shown[0][0] - 1
    assert all(text == lines[number - 1] for number, text in earlier)


def test_the_live_tail_returns_only_new_lines_and_stops_when_the_task_ends(client, world, task):
    write_log(task, ["first\n"])
    client.force_login(world.viewer)
    page = client.get(log_url(task)).content.decode()
    tail_url = re.search(r'hx-get="([^"]+/log/tail/[^"]+)"', page)[1].replace("&amp;", "&")

    TaskLogChunk.objects.create(task_run=task, attempt=1, seq=1, text="second\nthird\n")
    fragment = client.get(tail_url).content.decode()

    assert numbered_lines(fragment) == [(2, "second"), (3, "third")]
    assert 'hx-swap-oob="beforeend:#log-lines"' in fragment
    assert 'hx-trigger="every 2s"' in fragment

    TaskRun.objects.filter(pk=task.pk).update(state="success")
    ended = client.get(tail_url).content.decode()
    assert "The task has ended: Succeeded." in ended
    assert "hx-trigger" not in ended


def test_each_attempt_has_its_tab_and_its_own_log(client, world, task):
    TaskAttempt.objects.create(task_run=task, number=1, state="failed", error="Timeout")
    TaskRun.objects.filter(pk=task.pk).update(attempt=2, max_attempts=3)
    write_log(task, ["first try\n"], attempt=1)
    write_log(task, ["second try\n"], attempt=2)
    client.force_login(world.viewer)

    latest = client.get(log_url(task)).content.decode()
    first = client.get(log_url(task) + "?attempt=1").content.decode()

    assert numbered_lines(latest) == [(1, "second try")]
    assert numbered_lines(first) == [(1, "first try")]
    assert "What went wrong:</strong> Timeout" in first
    assert '<a href="?attempt=1"' in latest and 'href="?attempt=2" aria-current="page"' in latest


@pytest.mark.parametrize("query", ["?attempt=0", "?attempt=5", "?attempt=x", "?before=abc"])
def test_it_answers_404_for_an_attempt_or_position_that_does_not_exist(client, world, task, query):
    client.force_login(world.viewer)

    assert client.get(log_url(task) + query).status_code == 404


def test_it_downloads_the_whole_log_as_text(client, world, task):
    write_log(task, ["a\n", "b\n"])
    client.force_login(world.viewer)

    response = client.get(log_url(task, "runs:task_log_download") + "?attempt=1")

    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert (
        response["Content-Disposition"] == 'attachment; filename="report-run1-fetch-attempt1.log"'
    )
    assert b"".join(response.streaming_content) == b"a\nb\n"


def test_a_task_that_has_not_started_says_so(client, world):
    run = make_run(world.report, state="running", tasks={"fetch": "running", "add_up": "pending"})
    task = TaskRun.objects.get(run=run, task_name="add_up")
    client.force_login(world.viewer)

    page = client.get(log_url(task)).content.decode()

    assert "This task has not started yet" in page
    assert "Nothing logged yet." in page


def test_strangers_get_404_on_logs(client, world, task):
    client.force_login(world.stranger)

    for name in ("runs:task_log", "runs:task_log_download"):
        assert client.get(log_url(task, name)).status_code == 404
