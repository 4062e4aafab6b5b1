"""Discovery (apps and BATON_WORKFLOWS_DIR) and sync_workflows."""

import textwrap

import pytest
from django.core.management import call_command

from audit.models import AuditEvent
from audit.verification import verify_chain
from workflows.models import TaskSpec, Workflow, WorkflowLoadError
from workflows.registry import discover
from workflows.sync import sync_workflows

GOOD = """
from workflows import task, workflow, shell

@task
def fetch(n: int) -> int:
    return n

@workflow(tags=["ops"])
def {name}(n: int = 1):
    \"\"\"Fetch then echo.\"\"\"
    shell("echo", ["echo", fetch(n)])
"""


def write(folder, filename, source):
    path = folder / filename
    path.write_text(textwrap.dedent(source))
    return path


def test_it_discovers_workflows_in_installed_apps(settings):
    settings.BATON_WORKFLOWS_DIR = ""
    registry = discover()
    assert {"sales_report", "backup_files", "flaky_import"} <= set(registry.workflows)
    assert registry.errors == []


def test_it_discovers_workflows_in_the_workflows_dir(workflows_dir):
    write(workflows_dir, "ops.py", GOOD.format(name="from_folder"))
    registry = discover()
    assert registry.get("from_folder").tasks["echo"].upstream == ["fetch"]


def test_one_broken_file_does_not_hide_the_others(workflows_dir):
    write(workflows_dir, "good.py", GOOD.format(name="still_here"))
    broken = write(workflows_dir, "broken.py", "def oops(:\n    pass\n")
    registry = discover()
    assert "still_here" in registry.workflows
    assert [e.message for e in registry.errors] == [f"{broken}:1: syntax error: invalid syntax"]


def test_an_import_error_names_the_file_and_line(workflows_dir):
    broken = write(workflows_dir, "missing.py", "import os\nimport not_a_module_anywhere\n")
    registry = discover()
    assert registry.errors[0].message == (
        f"{broken}:2: ModuleNotFoundError: No module named 'not_a_module_anywhere'"
    )
    assert "Traceback" in registry.errors[0].traceback


def test_a_definition_error_in_a_file_names_the_workflow_and_line(workflows_dir):
    path = write(
        workflows_dir,
        "cyclic.py",
        """
        from workflows import shell, workflow

        @workflow
        def loop():
            a = shell("a", ["true"])
            b = shell("b", ["true"])
            a >> b >> a
        """,
    )
    registry = discover()
    assert registry.errors[0].message == (
        f"workflow 'loop' ({path}:4): the tasks form a cycle: a → b → a"
    )


def test_two_workflows_with_one_name_are_reported(workflows_dir):
    write(workflows_dir, "a.py", GOOD.format(name="twin"))
    second = write(workflows_dir, "b.py", GOOD.format(name="twin"))
    registry = discover()
    assert registry.get("twin").file.endswith("a.py")
    assert "a workflow named 'twin' is already declared at" in registry.errors[0].message
    assert registry.errors[0].file == str(second)


def test_a_missing_workflows_dir_is_reported(settings, tmp_path):
    settings.BATON_WORKFLOWS_DIR = str(tmp_path / "nowhere")
    registry = discover()
    assert (
        registry.errors[0].message == f"BATON_WORKFLOWS_DIR {tmp_path / 'nowhere'} is not a folder"
    )


@pytest.mark.django_db
def test_sync_writes_workflows_and_their_task_graph(workflows_dir):
    write(workflows_dir, "ops.py", GOOD.format(name="synced"))
    report = sync_workflows(registry=discover())
    assert "synced" in report.created
    workflow = Workflow.objects.get(slug="synced")
    assert (workflow.title, workflow.description, workflow.tags) == (
        "Synced",
        "Fetch then echo.",
        ["ops"],
    )
    assert workflow.parameter_schema["properties"]["n"]["default"] == 1
    specs = list(TaskSpec.objects.filter(workflow=workflow).values_list("name", "upstream"))
    assert specs == [("fetch", []), ("echo", ["fetch"])]


@pytest.mark.django_db
def test_sync_twice_changes_nothing(workflows_dir):
    write(workflows_dir, "ops.py", GOOD.format(name="stable"))
    sync_workflows(registry=discover())
    before = Workflow.objects.get(slug="stable").updated_at
    report = sync_workflows(registry=discover())
    assert report.created == report.updated == report.deactivated == []
    assert "stable" in report.unchanged
    assert Workflow.objects.get(slug="stable").updated_at == before


@pytest.mark.django_db
def test_sync_updates_a_changed_workflow(workflows_dir):
    path = write(workflows_dir, "ops.py", GOOD.format(name="changing"))
    sync_workflows(registry=discover())
    path.write_text(path.read_text().replace('tags=["ops"]', 'tags=["ops", "new"]'))
    report = sync_workflows(registry=discover())
    assert report.updated == ["changing"]
    assert Workflow.objects.get(slug="changing").tags == ["ops", "new"]


@pytest.mark.django_db
def test_a_first_sync_of_many_workflows_records_each_with_its_version_and_event(workflows_dir):
    names = [f"many_{n}" for n in range(30)]
    write(workflows_dir, "many.py", "".join(GOOD.format(name=name) for name in names))
    sync_workflows(registry=discover())
    workflows = Workflow.objects.filter(slug__in=names).select_related("current_version")
    assert sorted(w.slug for w in workflows) == sorted(names)
    assert all(w.current_version.code_hash == w.code_hash for w in workflows)
    assert TaskSpec.objects.filter(workflow__slug__in=names).count() == 60
    added = AuditEvent.objects.filter(
        verb=AuditEvent.Verb.WORKFLOW_ADDED, workflow_slug__startswith="many_"
    )
    assert sorted(added.values_list("workflow_slug", flat=True)) == sorted(names)
    assert verify_chain().is_intact


@pytest.mark.django_db
def test_a_changed_graph_rewrites_only_the_task_specs_that_changed(workflows_dir):
    path = write(workflows_dir, "ops.py", GOOD.format(name="regraphed"))
    sync_workflows(registry=discover())
    fetch_before = TaskSpec.objects.get(workflow__slug="regraphed", name="fetch")
    source = path.read_text().replace("@task\n", "@task(retries=2)\n")
    source = source.replace('shell("echo", ["echo", fetch(n)])', 'shell("say", ["echo", fetch(n)])')
    path.write_text(source)
    sync_workflows(registry=discover())
    specs = {s.name: s for s in TaskSpec.objects.filter(workflow__slug="regraphed")}
    assert sorted(specs) == ["fetch", "say"]
    assert (specs["fetch"].pk, specs["fetch"].retries) == (fetch_before.pk, 2)
    assert specs["say"].upstream == ["fetch"]


@pytest.mark.django_db
def test_a_removed_workflow_is_deactivated_and_kept(workflows_dir):
    write(workflows_dir, "other.py", GOOD.format(name="staying"))
    path = write(workflows_dir, "ops.py", GOOD.format(name="going_away"))
    sync_workflows(registry=discover())
    path.unlink()
    report = sync_workflows(registry=discover())
    assert report.deactivated == ["going_away"]
    workflow = Workflow.objects.get(slug="going_away")
    assert workflow.is_active is False
    assert workflow.tasks.count() == 2  # history kept


@pytest.mark.django_db
def test_a_workflow_whose_file_breaks_stays_active_and_the_error_is_stored(workflows_dir):
    path = write(workflows_dir, "ops.py", GOOD.format(name="fragile"))
    sync_workflows(registry=discover())
    path.write_text(path.read_text() + '\nraise RuntimeError("half deployed")\n')
    report = sync_workflows(registry=discover())
    assert report.deactivated == []
    assert Workflow.objects.get(slug="fragile").is_active is True
    error = WorkflowLoadError.objects.get()
    assert error.message.startswith(f"{path}:")
    assert error.message.endswith("RuntimeError: half deployed")

    path.write_text(GOOD.format(name="fragile"))
    sync_workflows(registry=discover())
    assert not WorkflowLoadError.objects.exists()


@pytest.mark.django_db
def test_a_reactivated_workflow_is_active_again(workflows_dir):
    write(workflows_dir, "other.py", GOOD.format(name="staying"))
    path = write(workflows_dir, "ops.py", GOOD.format(name="phoenix"))
    sync_workflows(registry=discover())
    source = path.read_text()
    path.unlink()
    sync_workflows(registry=discover())
    path.write_text(source)
    report = sync_workflows(registry=discover())
    assert report.updated == ["phoenix"]
    assert Workflow.objects.get(slug="phoenix").is_active is True


@pytest.mark.django_db
def test_the_command_prints_what_it_did(workflows_dir, capsys):
    from workflows import registry

    write(workflows_dir, "ops.py", GOOD.format(name="by_command"))
    registry.reset_registry()
    try:
        call_command("sync_workflows")
    finally:
        registry.reset_registry()
    out = capsys.readouterr().out
    assert "  + by_command" in out
    assert " created," in out
