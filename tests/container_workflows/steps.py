"""Container steps on the tests' busybox image (tests/docker_daemon.py), one per behaviour."""

from datetime import timedelta

from workflows import Secret, container, task, workflow

IMAGE = "baton-test/busybox:1"
BARE_IMAGE = "baton-test/busybox-without-baton:1"  # made by tests/test_containers_steps.py


@workflow
def container_output(greeting: str = "hello"):
    container(
        "speak",
        IMAGE,
        [
            "sh",
            "-c",
            'echo "line one"; echo "param=$BATON_PARAM_GREETING arg=$1"; echo "to stderr" >&2',
            "sh",
            greeting,
        ],
    )


@task
def count_rows() -> int:
    return 42


@workflow
def container_upstream():
    container("show", IMAGE, ["echo", "rows:", count_rows()])


@workflow
def container_exit():
    container("fail", IMAGE, ["sh", "-c", "echo about to fail; exit 3"])


@workflow
def container_timeout():
    container(
        "sleepy", IMAGE, ["sh", "-c", "echo sleeping; sleep 60"], timeout=timedelta(seconds=1)
    )


@workflow
def container_long():
    container("long", IMAGE, ["sh", "-c", "echo started; sleep 60"])


@workflow
def container_secret():
    container(
        "tell",
        IMAGE,
        ["sh", "-c", 'echo "token is $TOKEN"'],
        env={"TOKEN": Secret("BATON_TEST_TOKEN")},
    )


@workflow
def container_result_file():
    container(
        "write",
        IMAGE,
        ["sh", "-c", 'echo noise; echo "{\\"rows\\": 3, \\"ok\\": true}" > /baton/result.json'],
    )


def write_user_id(user: str):
    """On an image without /baton: as root (Baton mounts a volume there) or as another user."""
    command = 'echo "{\\"user\\": \\"$(busybox id -u)\\"}" > /baton/result.json'
    container("write", BARE_IMAGE, ["sh", "-c", command], user=user)


@workflow
def container_result_as_root():
    write_user_id("root")


@workflow
def container_result_as_nobody():
    write_user_id("nobody")


@workflow
def container_missing_image():
    container("nothing", "baton-test/missing:1", ["true"], pull="never", retries=2)


@workflow
def container_out_of_memory():
    # The pause: containerd watches a container's memory only once its process has started;
    # one killed before that (the loop reaches 8 MiB in milliseconds) is never told OOM.
    greedy = "sleep 1; x=a; while true; do x=$x$x$x$x; done"
    container("greedy", IMAGE, ["sh", "-c", greedy], memory="8m")
