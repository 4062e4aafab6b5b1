"""Declaring isolated tasks: requirements= and python= on @task and @workflow."""

from pathlib import Path

import pytest

from workflows import DefinitionError, shell, task, workflow

HERE = Path(__file__).parent


@task(requirements=["Six==1.16.0", "BatonTestPkg == 1.0  # pinned", "", "six == 1.16.0"])
def pinned():
    return None


@task
def plain():
    return None


@task(requirements=[])
def opted_out():
    return None


@task(python="3.11")
def other_python():
    return None


def test_requirements_are_normalized_and_a_task_without_them_runs_in_the_worker():
    @workflow
    def mixed():
        pinned()
        plain()

    assert mixed.tasks["pinned"].options.requirements == ("batontestpkg==1.0", "six==1.16.0")
    assert mixed.tasks["pinned"].isolated
    assert not mixed.tasks["plain"].isolated
    assert mixed.task_specs()[0]["requirements"] == list(mixed.tasks["pinned"].options.requirements)


def test_the_workflow_default_applies_to_tasks_without_their_own():
    @workflow(requirements="environment_workflows/requirements-two.txt", python="3.11")
    def defaulted():
        pinned()
        plain()
        opted_out()

    assert defaulted.tasks["plain"].options.requirements == ("batontestpkg==2.0",)
    assert defaulted.tasks["plain"].options.python == "3.11"
    assert defaulted.tasks["pinned"].options.requirements[0] == "batontestpkg==1.0"
    assert defaulted.tasks["opted_out"].options.requirements == ()
    assert defaulted.tasks["opted_out"].isolated  # python="3.11" still applies


def test_python_alone_makes_a_task_isolated():
    @workflow
    def other():
        other_python()

    assert other.tasks["other_python"].isolated


def test_requirements_are_part_of_the_code_hash_only_when_given():
    def declare(step):
        @workflow
        def hashed():
            step()

        return hashed

    unset = declare(plain).code_hash
    assert declare(plain.with_options(requirements=[])).code_hash == unset
    assert declare(plain.with_options(requirements=["six==1.16.0"])).code_hash != unset


def test_a_missing_requirements_file_is_a_definition_error_naming_it():
    with pytest.raises(DefinitionError) as caught:

        @task(requirements="no-such-requirements.txt")
        def lost():
            return None

    assert "requirements file" in str(caught.value)
    assert str(HERE / "no-such-requirements.txt") in str(caught.value)


@pytest.mark.parametrize(
    ("requirements", "words"),
    [
        (["-r other.txt"], "options such as -r, -e or --index-url are not accepted"),
        ([1, 2], "must be a list of requirement strings"),
        ({"pandas": "2.2"}, "must be a list of requirement strings"),
    ],
)
def test_bad_requirements_are_definition_errors(requirements, words):
    with pytest.raises(DefinitionError, match=words):
        task(requirements=requirements)(lambda: None)


def test_a_bad_python_is_a_definition_error():
    with pytest.raises(DefinitionError, match="python must be a version such as '3.12'"):
        task(python="three point twelve")(lambda: None)


def test_a_shell_step_takes_no_requirements():
    with pytest.raises(DefinitionError, match="requirements and python apply to @task"):

        @workflow
        def scripted():
            shell("backup", ["backup.sh"], requirements=["six"])
