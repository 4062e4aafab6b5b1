"""Isolated task environments: real uv builds from a wheelhouse of the test's own."""

import io
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from runs.environments.build import (
    MARKER,
    EnvironmentBuildFailed,
    build_environment,
    environment_for,
    environment_path,
)
from runs.environments.interpreters import find_interpreter
from runs.environments.spec import EnvironmentSpec
from runs.execution.isolated_task import INSIDE
from runs.models import TaskRun
from runs.selectors import task_log
from runs.services import cancel_run, trigger_run
from runs.testing import in_process_worker, use_workflows, wait_for_run
from tests.processes import wait_until
from workflows.models import Workflow

WORKFLOWS = Path(__file__).parent / "environment_workflows"
TOKEN = "env-s3cr3t-token"


@pytest.fixture(scope="module")
def env_dir(tmp_path_factory, wheelhouse):
    """One BATON_ENV_DIR for the module: its environments are built once, then shared."""
    folder = tmp_path_factory.mktemp("envs")
    with override_settings(
        BATON_ENV_DIR=folder, BATON_PIP_FIND_LINKS=str(wheelhouse), BATON_PIP_INDEX_URL=""
    ):
        yield folder


@pytest.fixture
def engine(env_dir, transactional_db, monkeypatch):
    monkeypatch.setenv("BATON_TEST_TOKEN", TOKEN)
    with use_workflows(WORKFLOWS), in_process_worker(threads=4):
        yield env_dir


def run_of(slug, timeout=60, **parameters):
    run = trigger_run(workflow=Workflow.objects.get(slug=slug), parameters=parameters)
    return wait_for_run(run, timeout=timeout)


def task_of(run, name) -> TaskRun:
    return run.task_runs.get(task_name=name)


def log_of(task: TaskRun) -> str:
    """The log of its latest attempt, as the database holds it now."""
    return task_log(task_run=TaskRun.objects.get(pk=task.pk))


def built_keys(env_dir: Path) -> set[str]:
    return {path.name for path in env_dir.iterdir() if not path.name.startswith(".")}


def test_two_tasks_pinned_to_two_versions_each_see_their_own(engine):
    run = run_of("two_versions")
    assert run.state == "success"
    assert task_of(run, "version_one").result == "1.0"
    assert task_of(run, "version_two").result == "2.0"  # from requirements-two.txt
    assert task_of(run, "in_worker").result is False  # the worker has no batontestpkg
    assert len(built_keys(engine)) == 2


def test_a_second_run_builds_nothing_and_names_the_environment_it_ran_in(engine):
    first = run_of("two_versions")
    before = built_keys(engine)
    second = run_of("two_versions")
    assert (first.state, second.state) == ("success", "success")
    log = log_of(task_of(second, "version_one"))
    key = EnvironmentSpec.for_task(("batontestpkg==1.0",), None).key
    assert "Preparing environment" not in log
    assert f"Running in environment {key[:8]} (Python " in log
    assert built_keys(engine) == before


def test_the_environment_has_the_context_its_own_packages_and_masks_secrets(engine):
    run = run_of("environment_context")
    described = task_of(run, "describe")
    assert run.state == "success", described.error
    assert described.result["day"] == "2026-01-02"
    assert described.result["six"] == "1.16.0"  # the worker has six 1.17.0
    assert described.result["django_visible"] is False
    assert task_of(run, "after").result == "2026-01-02"
    log = log_of(described)
    assert "the token is ***" in log
    assert TOKEN not in log
    assert f"INFO run {run.pk}, attempt 1, day 2026-01-02" in log


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"


def _pid_in_log(task: TaskRun) -> int:
    line = next(line for line in log_of(task).splitlines() if line.startswith("pid "))
    return int(line.split()[1])


@override_settings(BATON_KILL_GRACE_SECONDS=1)
def test_a_timeout_kills_the_task_process(engine):
    run = run_of("isolated_timeout")
    task = task_of(run, "sleeps_past_its_timeout")
    assert (run.state, task.state) == ("failed", "failed")
    assert task.error == "Timed out after 2 s."
    assert _process_gone(_pid_in_log(task))


@override_settings(BATON_KILL_GRACE_SECONDS=1)
def test_a_cancel_kills_the_task_process(engine):
    run = trigger_run(workflow=Workflow.objects.get(slug="isolated_sleep"), parameters={})
    task = run.task_runs.get(task_name="sleeps")
    wait_until(lambda: "pid " in log_of(task), timeout=30, message="the task printed no pid")
    assert cancel_run(run=run) is True
    ended = lambda: TaskRun.objects.get(pk=task.pk).state == "cancelled"  # noqa: E731
    wait_until(ended, timeout=10, message="the task is still running")
    assert _process_gone(_pid_in_log(task))


def test_a_requirement_that_does_not_resolve_fails_once_with_uvs_message(engine):
    run = run_of("missing_requirement")
    task = task_of(run, "wants_a_missing_version")
    assert (run.state, task.state, task.attempt) == ("failed", "failed", 1)  # not retried
    assert "batontestpkg==9.9" in task.error
    assert "uv says" in task.error and "no version of batontestpkg==9.9" in task.error
    assert "no version of batontestpkg==9.9" in log_of(task)


def test_a_task_error_and_a_non_json_result_fail_like_in_the_worker(engine):
    run = run_of("isolated_failures")
    fails, returns_a_set = task_of(run, "fails"), task_of(run, "returns_a_set")
    assert fails.error == "ValueError: no luck today"
    assert 'in fails\n    raise ValueError("no luck today")' in fails.traceback
    assert "run_task.py" not in fails.traceback
    assert "ValueError: no luck today" in log_of(fails)
    assert returns_a_set.error.startswith("The task returned a value that is not JSON (")


def test_a_python_the_machine_lacks_fails_with_the_versions_it_has(engine):
    run = run_of("missing_python")
    task = task_of(run, "on_an_old_python")
    assert (run.state, task.state) == ("failed", "failed")
    assert task.error.startswith("Python 2.9 (python='2.9') is not installed on this worker")
    assert find_interpreter(None).version in task.error


def test_ten_concurrent_first_uses_build_once(env_dir):
    spec = EnvironmentSpec.for_task(("batontestpkg==2.0", "six==1.16.0"), None)
    logs = [[] for _ in range(10)]
    built = [None] * 10
    start = threading.Barrier(10)

    def first_use(n):
        start.wait()
        built[n] = build_environment(spec, log=logs[n].append)

    threads = [threading.Thread(target=first_use, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert built.count(True) == 1
    assert sum("Preparing environment" in "".join(log) for log in logs) == 1
    assert (environment_path(spec.key) / "bin" / "python").exists()


def test_an_unreachable_index_is_a_retryable_failure(env_dir, monkeypatch):
    monkeypatch.setenv("UV_HTTP_RETRIES", "0")
    spec = EnvironmentSpec.for_task(("batontestpkg>=1.5",), None)
    with (
        override_settings(BATON_PIP_INDEX_URL="http://127.0.0.1:9/simple", BATON_PIP_FIND_LINKS=""),
        pytest.raises(EnvironmentBuildFailed) as caught,
    ):
        build_environment(spec)
    assert caught.value.retryable
    assert "Connection refused" in str(caught.value)
    assert not environment_path(spec.key).exists()
    assert list((env_dir / ".building").iterdir()) == []  # nothing half-built left behind


def test_the_workflow_page_shows_each_tasks_requirements(engine, admin_client):
    page = admin_client.get("/workflows/environment_context/").content.decode()
    assert "Tasks with packages of their own" in page
    assert "<code>describe</code>: <code>batontestpkg==1.0</code>, <code>six==1.16.0</code>" in page


def test_prepare_envs_builds_what_it_can_and_names_what_it_cannot(engine):
    for _ in range(2):  # the first call builds what earlier tests (maybe elsewhere) did not
        out, err = io.StringIO(), io.StringIO()
        with pytest.raises(CommandError, match=r"^2 environment\(s\) could not be prepared"):
            call_command("prepare_envs", stdout=out, stderr=err)
    assert "already built, used by environment_context.describe" in out.getvalue()
    assert "missing_python.on_an_old_python: Python 2.9 (python='2.9') is not" in err.getvalue()
    assert "missing_requirement.wants_a_missing_version: Could not prepare" in err.getvalue()


def test_envs_lists_each_environment_with_the_workflows_using_it(engine):
    spec = EnvironmentSpec.for_task(("batontestpkg==1.0", "six==1.16.0"), None)
    build_environment(spec)  # unless a test before it, in this process, built it already
    listed = call("envs")
    key = spec.key
    line = next(line for line in listed.splitlines() if line.startswith(key))
    assert "environment_context" in line and "batontestpkg==1.0 six==1.16.0" in line


def test_prune_removes_the_unused_and_keeps_the_one_in_use(env_dir):
    old = EnvironmentSpec.for_task(("batontestpkg==2.0",), None)
    busy = EnvironmentSpec.for_task(("batontestpkg==1.0",), None)
    for spec in (old, busy):
        build_environment(spec)
        long_ago = time.time() - 40 * 86400
        os.utime(environment_path(spec.key) / MARKER, (long_ago, long_ago))
    with environment_for(busy, log=lambda text: None):
        os.utime(environment_path(busy.key) / MARKER, (time.time() - 40 * 86400,) * 2)
        pruned = call("envs", "--prune", "--max-age-days", "30")
    assert f"Removed {old.key}" in pruned
    assert f"Kept {busy.key}: a task is using it." in pruned
    assert not environment_path(old.key).exists()
    assert (environment_path(busy.key) / MARKER).exists()


def call(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def _unwritable(tmp_path) -> Path:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    return blocker / "envs"  # a folder below a file: not even root can make it


@pytest.mark.parametrize("command", [["runworker"], ["up", "--no-migrate"]])
def test_a_worker_does_not_start_on_an_unwritable_env_dir(command, tmp_path):
    env_dir = _unwritable(tmp_path)
    with (
        override_settings(BATON_ENV_DIR=env_dir, BROKER_URL="redis://127.0.0.1:6379/15"),
        pytest.raises(CommandError) as caught,
    ):
        call_command(*command)
    assert str(caught.value) == (
        f"BATON_ENV_DIR={env_dir} is not a folder this worker can write (Not a directory); "
        f"set BATON_ENV_DIR to one it can, e.g. /var/lib/baton/envs."
    )


def test_an_env_dir_lost_while_running_fails_the_task_not_the_worker(engine, tmp_path):
    with override_settings(BATON_ENV_DIR=_unwritable(tmp_path)):
        failed = run_of("two_versions")
    assert task_of(failed, "version_one").error.startswith(
        "Could not prepare the task's environment in "
    )
    assert task_of(failed, "in_worker").state == "success"
    assert run_of("two_versions").state == "success"  # the same worker threads go on


def test_a_process_that_exits_without_a_result_fails_with_its_exit_code(engine):
    run = run_of("isolated_exit")
    task = task_of(run, "exits_at_once")
    assert task.state == "failed"
    assert task.error.startswith("The task's Python process exited with code 3 before returning")
    assert "leaving" in task.error  # the last lines of its log


def test_the_stand_in_authoring_api_registers_functions_under_any_decorator():
    stand_in = INSIDE / "stand_in"
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); import workflows\n"
        "@workflows.branch(requirements=['x'])\n"
        "def pick(): return 'a'\n"
        "limits = workflows.Range(1, 10)\n"
        "print(sorted(workflows.TASKS), workflows.TASKS['pick']())\n"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", script, str(stand_in)], capture_output=True, text=True
    )
    assert done.stdout == "['pick'] a\n", done.stderr
