"""Declaring container steps: what is checked when the workflow file loads (no Docker needed)."""

from datetime import timedelta

import pytest

from workflows import DefinitionError, Secret, container, task, workflow

IMAGE = "python:3.12-slim"


@task
def count() -> int:
    return 3


def declared(**kwargs):
    """The node of a one-step workflow declaring ``container("step", ...)``."""
    kwargs.setdefault("image", IMAGE)

    @workflow
    def one_container(site: int = 1):
        container("step", **kwargs)

    return one_container.tasks["step"]


def refusal(**kwargs) -> str:
    with pytest.raises(DefinitionError) as caught:
        declared(**kwargs)
    return str(caught.value)


def test_a_step_keeps_its_command_env_and_settings_with_safe_defaults():
    @workflow
    def export(site: int = 1):
        rows = count()
        container(
            "export",
            IMAGE,
            ["python", "-m", "export", "--site", site, "--rows", rows],
            env={"TOKEN": Secret("EXPORT_TOKEN")},
            memory="512m",
            cpu=0.5,
            mounts=["/srv/exports:/data:ro", "cache:/cache"],
            user=1000,
            workdir="/app",
        )

    node = export.tasks["export"]
    assert node.kind == "container"
    assert node.upstream == ["count"]  # an upstream result in the command is an edge
    assert node.container.memory == 512 * 1024 * 1024
    assert node.container.cpu == 0.5
    assert [str(m) for m in node.container.mounts] == ["/srv/exports:/data:ro", "cache:/cache:rw"]
    assert node.container.user == "1000"
    assert node.container.network == "none"  # no network unless asked
    assert node.container.pull == "missing"
    assert node.options.queue == "containers"
    assert [secret.name for secret in node.secrets()] == ["EXPORT_TOKEN"]
    spec = export.task_specs()[1]["arguments"]
    assert spec["image"] == IMAGE and spec["memory"] == 512 * 1024 * 1024


def test_the_queue_comes_from_the_settings_and_a_step_may_name_its_own(settings):
    settings.BATON_CONTAINER_QUEUE = "docker_hosts"
    assert declared(command=["true"]).options.queue == "docker_hosts"
    assert declared(command=["true"], queue="gpu").options.queue == "gpu"


def test_without_a_command_the_image_runs_its_own():
    assert declared().argv == []


@pytest.mark.parametrize(
    ("memory", "size"),
    [
        ("512m", 512 * 1024**2),
        ("1g", 1024**3),
        ("256MiB", 256 * 1024**2),
        (64 * 1024**2, 64 * 1024**2),
    ],
)
def test_memory_is_read_in_the_usual_units(memory, size):
    assert declared(memory=memory).container.memory == size


@pytest.mark.parametrize("memory", ["lots", "512 megs", "1.5g", -1, True, "1m"])
def test_a_bad_memory_value_is_refused_naming_it(memory):
    message = refusal(memory=memory)
    assert f"memory={memory!r}" in message
    assert "'6m'" in message or "'512m'" in message


def test_a_command_given_as_a_string_is_refused():
    message = refusal(command="python export.py --site 3")
    assert "command must be a non-empty list of arguments" in message
    assert "never runs a shell" in message


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"pull": "sometimes"}, "pull must be one of missing, always, never"),
        ({"image": "has space"}, "image must name an image"),
        ({"image": ""}, "image must name an image"),
        ({"cpu": 0}, "cpu must be a number of CPUs above 0"),
        ({"network": ""}, "network must be a network name"),
        ({"workdir": "app"}, "workdir must be an absolute path"),
        ({"mounts": "/a:/b"}, "mounts must be a list"),
        ({"mounts": ["/a"]}, "mount '/a' is not 'source:target'"),
        ({"mounts": ["/a:relative"]}, "must be an absolute path"),
        ({"mounts": ["/a:/b:rx"]}, "is not 'source:target'"),
        ({"env": {"BAD NAME": "x"}}, "env must be a dict of variable names"),
        ({"requirements": ["pandas"]}, "requirements= is for @task steps"),
        ({"retries": -1}, "retries must be a whole number"),
        ({"colour": "red"}, "unknown option"),
    ],
)
def test_bad_settings_are_refused_when_the_file_loads(kwargs, words):
    message = refusal(**kwargs)
    assert words in message
    assert "container step 'step'" in message or "mount" in message


def test_a_container_outside_a_workflow_is_refused():
    with pytest.raises(DefinitionError, match="declared outside a workflow"):
        container("alone", IMAGE, ["true"])


def test_the_code_hash_changes_with_the_image():
    def version_of(image):
        @workflow
        def hashed():
            container("step", image, ["true"], timeout=timedelta(minutes=1))

        return hashed.code_hash

    assert version_of("busybox:1.36") != version_of("busybox:1.37")
