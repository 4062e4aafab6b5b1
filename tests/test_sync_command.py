"""`manage.py sync_workflows`: its exit status, and when it refuses to deactivate workflows."""

import io
import textwrap

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.models import AuditEvent
from workflows import registry
from workflows.models import Workflow, WorkflowLoadError

GOOD = """
from workflows import shell, workflow

@workflow
def {name}():
    shell("echo", ["echo", "hi"])
"""

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_registry():
    """Each command discovers the code again, as a new process would."""
    registry.reset_registry()
    yield
    registry.reset_registry()


def write(folder, filename, source):
    path = folder / filename
    path.write_text(textwrap.dedent(source))
    return path


def sync(*args):
    """Run the command as a new process would; its output, and the error it ended with."""
    registry.reset_registry()
    out = io.StringIO()
    try:
        call_command("sync_workflows", *args, stdout=out)
    except CommandError as exc:
        return out.getvalue(), str(exc)
    return out.getvalue(), None


def active(slug):
    return Workflow.objects.get(slug=slug).is_active


def test_it_fails_when_a_file_calls_sys_exit_and_syncs_the_others(workflows_dir):
    write(workflows_dir, "good.py", GOOD.format(name="synced_anyway"))
    exits = write(workflows_dir, "exits.py", "import sys\nsys.exit(3)\n")

    out, error = sync()

    assert error == "1 file(s) could not be loaded; the others were synced."
    assert f"  ! {exits}:2: the file called sys.exit(3) while being imported" in out
    assert active("synced_anyway")
    assert WorkflowLoadError.objects.get().file == str(exits)


def test_it_succeeds_when_every_file_loads(workflows_dir):
    write(workflows_dir, "good.py", GOOD.format(name="fine"))

    out, error = sync()

    assert error is None
    assert "  + fine" in out


def test_without_the_folder_setting_it_keeps_the_folder_workflows_and_says_why(
    workflows_dir, settings
):
    path = write(workflows_dir, "ops.py", GOOD.format(name="from_folder"))
    assert sync()[1] is None
    settings.BATON_WORKFLOWS_DIR = ""
    events = AuditEvent.objects.count()

    out, error = sync()

    assert error == (
        "1 workflow(s) missing from code were kept active; "
        "run `manage.py sync_workflows --prune` to deactivate them."
    )
    assert (
        f"  = from_folder kept active, although not found in code: it came from {path}, "
        f"and BATON_WORKFLOWS_DIR is not set"
    ) in out
    assert "0 deactivated" in out
    assert active("from_folder")
    assert AuditEvent.objects.count() == events


def test_with_the_folder_emptied_it_keeps_its_workflows(workflows_dir):
    path = write(workflows_dir, "ops.py", GOOD.format(name="from_folder"))
    sync()
    path.unlink()

    out, error = sync()

    assert error.endswith("run `manage.py sync_workflows --prune` to deactivate them.")
    assert f"and the folder {workflows_dir} holds no workflow file" in out
    assert active("from_folder")


def test_with_another_folder_it_keeps_the_old_folders_workflows(workflows_dir, settings, tmp_path):
    path = write(workflows_dir, "ops.py", GOOD.format(name="from_old_folder"))
    sync()
    other = tmp_path / "other"
    other.mkdir()
    write(other, "new.py", GOOD.format(name="from_new_folder"))
    settings.BATON_WORKFLOWS_DIR = str(other)

    out, error = sync()

    assert error is not None
    assert f"it came from {path}, which is outside BATON_WORKFLOWS_DIR ({other})" in out
    assert active("from_old_folder") and active("from_new_folder")


def test_prune_deactivates_them(workflows_dir, settings):
    write(workflows_dir, "ops.py", GOOD.format(name="from_folder"))
    sync()
    settings.BATON_WORKFLOWS_DIR = ""

    out, error = sync("--prune")

    assert error is None
    assert "  - from_folder (no longer in code; history kept)" in out
    assert not active("from_folder")
    assert AuditEvent.objects.filter(verb="workflow.deactivated").count() == 1


def test_migrate_neither_fails_for_a_broken_file_nor_prunes(workflows_dir, settings):
    write(workflows_dir, "ops.py", GOOD.format(name="from_folder"))
    sync()
    exits = write(workflows_dir, "exits.py", "import sys\nsys.exit(3)\n")
    registry.reset_registry()
    out = io.StringIO()

    call_command("migrate", verbosity=1, stdout=out)

    assert "Workflows: 1 file(s) could not be loaded; the others were synced." in out.getvalue()
    assert WorkflowLoadError.objects.get().file == str(exits)

    settings.BATON_WORKFLOWS_DIR = ""
    registry.reset_registry()
    out = io.StringIO()
    call_command("migrate", verbosity=1, stdout=out)

    assert "Workflows: 1 workflow(s) missing from code were kept active" in out.getvalue()
    assert active("from_folder")
