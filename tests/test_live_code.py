"""Live code: a git repository (or folder) reloaded without a restart, versions, pinned runs."""

import io
import logging
import shutil

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.models import AuditEvent
from runs.services import trigger_run
from workflows import live, registry
from workflows.models import Workflow, WorkflowLoadError, WorkflowVersion
from workflows.sources import GitSource, SourceError, masked

from .live_repo import GitRepo

pytestmark = pytest.mark.django_db

FLOW = """
from workflows import task, workflow

@task
def step() -> str:
    return "{says}"

@workflow
def {name}():
    step()
"""


@pytest.fixture
def repo(tmp_path, settings):
    """A git repository as the settings' workflow source, read afresh by each test."""
    repo = GitRepo(tmp_path / "repo")
    settings.BATON_WORKFLOWS_GIT = str(repo.path)
    settings.BATON_WORKFLOWS_GIT_BRANCH = "main"
    settings.BATON_WORKFLOWS_GIT_INTERVAL = 3600  # the tests look by hand
    settings.BATON_WORKFLOWS_CACHE = str(tmp_path / "cache")
    settings.BATON_WORKFLOWS_DIR = ""
    registry.reset_registry()
    yield repo
    live._live_key = None  # the next test's settings make a new LiveCode
    registry.reset_registry()


def flow(name, says="v1"):
    return FLOW.format(name=name, says=says)


def sync_command():
    out = io.StringIO()
    try:
        call_command("sync_workflows", stdout=out)
    except CommandError as exc:
        return out.getvalue(), str(exc)
    return out.getvalue(), None


def says(definition) -> str:
    return definition.tasks["step"].definition.fn()


def test_a_new_commit_is_loaded_beside_the_old_one_without_a_restart(repo):
    repo.commit({"flows.py": flow("exporter")}, "First export")
    first = registry.get_registry().get("exporter")
    repo.commit({"flows.py": flow("exporter", "v2") + flow("importer")}, "Second")

    assert live.live_code().refresh() is True

    current = registry.get_registry()
    assert says(current.get("exporter")) == "v2"
    assert current.get("importer") is not None
    assert says(first) == "v1"  # a running task keeps the definition it holds
    assert first.fn.__module__ != current.get("exporter").fn.__module__
    assert live.live_code().refresh() is False  # same commit: nothing to do


def test_sync_records_versions_with_their_commit_and_audits_a_change(repo):
    sha1 = repo.commit({"flows.py": flow("exporter")}, "First export\n\nbody")
    sync_command()
    v1 = Workflow.objects.get(slug="exporter").current_version
    assert (v1.origin, v1.revision, v1.commit_author) == (
        "git",
        sha1,
        "Ann Author <ann@example.com>",
    )
    assert v1.subject == "First export"
    assert 'return "v1"' in v1.source and v1.source_path == "flows.py"
    assert [t["name"] for t in v1.graph] == ["step"]

    sha2 = repo.commit({"flows.py": flow("exporter", "v2")}, "Fix", author="Bob <bob@example.com>")
    out, error = sync_command()

    workflow = Workflow.objects.get(slug="exporter")
    assert error is None
    assert workflow.current_version.revision == sha2
    assert workflow.versions.count() == 2
    event = AuditEvent.objects.get(verb="workflow.code_changed")
    assert event.actor_label == "system"
    assert event.details["old_hash"] == v1.code_hash
    assert event.details["new_hash"] == workflow.current_version.code_hash
    assert (event.details["commit"], event.details["author"]) == (sha2, "Bob <bob@example.com>")


def test_an_unchanged_workflow_keeps_its_version_across_commits(repo):
    repo.commit({"a.py": flow("stays"), "b.py": flow("moves")}, "one")
    sync_command()
    repo.commit({"b.py": flow("moves", "v2")}, "two")
    sync_command()

    assert WorkflowVersion.objects.filter(workflow__slug="stays").count() == 1
    assert WorkflowVersion.objects.filter(workflow__slug="moves").count() == 2
    assert AuditEvent.objects.filter(verb="workflow.code_changed").count() == 1


def test_a_broken_commit_keeps_the_last_good_code_of_its_file_and_logs_once(repo, caplog):
    repo.commit({"a.py": flow("broken_soon"), "b.py": flow("fine")}, "good")
    sync_command()
    repo.commit(
        {"a.py": flow("broken_soon", "v2") + "\n1 / 0\n", "b.py": flow("fine", "v2")}, "bad"
    )
    caplog.set_level(logging.ERROR)

    out, error = sync_command()
    live.live_code().refresh()  # the next looks at the same commit say nothing more
    live.live_code().refresh()

    current = registry.get_registry()
    assert says(current.get("broken_soon")) == "v1"
    assert says(current.get("fine")) == "v2"
    assert error == "1 file(s) could not be loaded; the others were synced."
    [stored] = WorkflowLoadError.objects.all()
    assert stored.file == "a.py"
    assert stored.message.endswith("a.py:12: ZeroDivisionError: division by zero")
    assert stored.message.startswith("commit ")
    assert len([r for r in caplog.records if "ZeroDivisionError" in r.getMessage()]) == 1
    assert Workflow.objects.get(slug="broken_soon").is_active


def test_an_unreachable_repository_fails_the_command_naming_it_and_keeps_the_workflows(
    repo, tmp_path
):
    repo.commit({"flows.py": flow("exporter")}, "one")
    sync_command()
    shutil.move(repo.path, tmp_path / "moved")
    registry.reset_registry()
    live._live_key = None  # a new process

    out, error = sync_command()

    assert error.startswith(
        f"git repository {repo.path} (branch main): git fetch failed: fatal: '{repo.path}' "
        f"does not appear to be a git repository; the workflows stored before were kept."
    )
    assert Workflow.objects.get(slug="exporter").is_active
    assert WorkflowLoadError.objects.filter(message__contains="git fetch failed").exists()
    # The process started during the outage runs the commit its cache last fetched.
    assert says(registry.get_registry().get("exporter")) == "v1"


def test_a_repository_never_reached_fails_the_command_naming_it(settings, tmp_path, repo):
    settings.BATON_WORKFLOWS_GIT = str(tmp_path / "nowhere")

    out, error = sync_command()

    assert error.startswith(
        f"git repository {tmp_path / 'nowhere'} (branch main): git clone failed: fatal: "
        f"repository '{tmp_path / 'nowhere'}' does not exist; the workflows stored before "
        f"were kept."
    )
    assert WorkflowLoadError.objects.filter(message__contains="git clone failed").exists()


def test_a_wrong_branch_fails_the_command_naming_the_branch(repo, settings):
    repo.commit({"flows.py": flow("exporter")}, "one")
    settings.BATON_WORKFLOWS_GIT_BRANCH = "production"

    out, error = sync_command()

    assert error.startswith(
        f"git repository {repo.path} (branch production): the repository has no branch "
        f"'production' (set BATON_WORKFLOWS_GIT_BRANCH)"
    )
    assert not Workflow.objects.filter(slug="exporter").exists()


def test_a_failed_fetch_keeps_the_last_good_code_and_is_logged_once(repo, tmp_path, caplog):
    repo.commit({"flows.py": flow("exporter")}, "one")
    before = registry.get_registry()
    shutil.move(repo.path, tmp_path / "moved")
    caplog.set_level(logging.ERROR)

    assert live.live_code().refresh() is True
    assert live.live_code().refresh() is False

    current = registry.get_registry()
    assert current.get("exporter") is before.get("exporter")
    assert "git fetch failed" in current.source_error
    assert len([r for r in caplog.records if "git fetch failed" in r.getMessage()]) == 1

    shutil.move(tmp_path / "moved", repo.path)
    assert live.live_code().refresh() is True
    assert registry.get_registry().source_error == ""


def test_credentials_in_the_url_are_never_shown(tmp_path):
    url = "https://deploy:s3cret-token@127.0.0.1:9/team/flows.git"
    source = GitSource(url, branch="main", cache=str(tmp_path), keep=2)

    with pytest.raises(SourceError) as caught:
        source.current()

    assert "s3cret-token" not in str(caught.value)
    assert str(caught.value).startswith("git repository https://deploy:***@127.0.0.1:9/")
    assert masked("https://tok@host/x.git") == "https://***@host/x.git"


def test_checkouts_are_kept_up_to_keep_most_recent(repo, tmp_path):
    source = GitSource(str(repo.path), branch="main", cache=str(tmp_path / "c"), keep=2)
    for n in range(3):
        repo.commit({"flows.py": flow("exporter", f"v{n}")}, f"commit {n}")
        source.current()

    assert len([p for p in source.checkouts.iterdir() if p.is_dir()]) == 2


def test_a_run_is_pinned_and_its_tasks_get_its_version_after_newer_commits(repo, settings):
    repo.commit({"flows.py": flow("exporter")}, "one")
    sync_command()
    run = trigger_run(workflow=Workflow.objects.get(slug="exporter"), parameters={})
    repo.commit({"flows.py": flow("exporter", "v2")}, "two")
    sync_command()
    version = run.version
    current = registry.get_registry().get("exporter")

    kept = live.definition_for_version("exporter", version.pk, version.code_hash, current=current)
    assert says(kept) == "v1"

    live._live_key = None  # a worker that never loaded v1: checks the commit out again
    again = live.definition_for_version(
        "exporter", version.pk, version.code_hash, current=registry.get_registry().get("exporter")
    )
    assert says(again) == "v1" and again is not kept

    settings.BATON_WORKFLOWS_GIT = ""  # the repository is gone: the stored source
    registry.reset_registry(registry.discover(workflows_dir=""))
    stored = live.definition_for_version("exporter", version.pk, version.code_hash, current=None)
    assert says(stored) == "v1"
    assert stored.fn.__module__.startswith("baton_workflows.v")


def test_a_folder_is_reloaded_when_its_content_changes(workflows_dir):
    registry.reset_registry()
    (workflows_dir / "flows.py").write_text(flow("in_folder"))
    assert says(registry.get_registry().get("in_folder")) == "v1"

    (workflows_dir / "flows.py").write_text(flow("in_folder", "v2"))

    assert live.live_code().refresh() is True
    assert says(registry.get_registry().get("in_folder")) == "v2"
    live._live_key = None
    registry.reset_registry()


def test_the_scheduler_leader_writes_each_new_commit_to_the_database(repo):
    from runs.scheduler import Scheduler

    repo.commit({"flows.py": flow("exporter")}, "one")
    scheduler = Scheduler()
    scheduler.tick()
    assert Workflow.objects.get(slug="exporter").current_version.subject == "one"

    repo.commit({"flows.py": flow("exporter", "v2") + flow("importer")}, "two")
    live.live_code().refresh()
    scheduler.tick()
    scheduler.tick()  # the same revision is not written twice

    assert Workflow.objects.get(slug="exporter").current_version.subject == "two"
    assert Workflow.objects.filter(slug="importer", is_active=True).exists()
    assert AuditEvent.objects.filter(verb="workflow.code_changed").count() == 1
    scheduler.lock.release()


def test_a_process_without_a_poller_looks_again_in_the_background_after_the_interval(
    repo, tmp_path
):
    import time

    from workflows.live import LiveCode

    repo.commit({"flows.py": flow("exporter")}, "one")
    source = GitSource(str(repo.path), branch="main", cache=str(tmp_path / "web"), keep=2)
    web = LiveCode(source, interval=30, keep=2)
    first = web.registry()
    repo.commit({"flows.py": flow("exporter", "v2")}, "two")
    web._checked_at -= 60  # the interval has passed: the next call starts a look

    assert web.registry() is first  # the request is not kept waiting for git
    deadline = time.monotonic() + 10
    while says(web.registry().get("exporter")) != "v2":
        assert time.monotonic() < deadline, "the background look never loaded the new commit"
        time.sleep(0.02)
