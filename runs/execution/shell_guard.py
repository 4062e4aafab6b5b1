"""The parent of a shell step's command: it takes the step's process group down with the worker.

    python -I -S shell_guard.py WORKER_PID STATUS_FD COMMAND [ARG ...]

Started by the worker (``shell_task.start_guarded``) as the leader of a new session
and process group; the command runs in that group. Linux's PR_SET_PDEATHSIG signals
this process when its parent dies, SIGKILL included. The signal also comes when
only the worker *thread* that forked it ends, so the guard checks its parent
process really is gone (``getppid()`` changes once the worker process has died)
before it kills the whole group, itself included: no orphan of the step finishes
its work beside the retry the scheduler starts.

SIGTERM, SIGINT and SIGHUP sent to the group (timeout, cancel) reach the command
too; the guard outlives them and exits as the command did, so the worker sees the
command's exit code or signal. Standard library only, and ``-I -S``, so it starts
in milliseconds whatever the step's environment holds.
"""

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1
PARENT_GONE = signal.SIGUSR1
# The command starts with the default dispositions Python changed at start-up.
RESET = (signal.SIGPIPE, signal.SIGXFSZ)


def main(args: list[str]) -> int:
    worker, status_fd, command = int(args[0]), int(args[1]), args[2:]
    os.set_inheritable(status_fd, False)  # the command must not hold the worker waiting
    if os.getpgrp() != os.getpid():  # started by hand: never kill the caller's group
        os.setsid()
    signal.signal(PARENT_GONE, lambda *_: _kill_group_unless(os.getppid() == worker))
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: None)  # the command got it too: wait for it
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, PARENT_GONE, 0, 0, 0) != 0:
        return _report_start_failure(status_fd, ctypes.get_errno())
    _kill_group_unless(os.getppid() == worker)  # the worker died before prctl
    try:
        pid = os.posix_spawnp(command[0], command, _initial_environment(), setsigdef=RESET)
    except OSError as exc:
        return _report_start_failure(status_fd, exc.errno)
    os.close(status_fd)  # end of file: the worker knows the command started
    _, status = os.waitpid(pid, 0)
    return _exit_like(os.waitstatus_to_exitcode(status))


def _initial_environment() -> dict[bytes, bytes]:
    """The environment the worker gave, before Python's start-up added to it (LC_CTYPE)."""
    with open("/proc/self/environ", "rb") as environ:
        entries = [entry.partition(b"=") for entry in environ.read().split(b"\0") if entry]
    return {name: value for name, _, value in entries}


def _kill_group_unless(parent_alive: bool) -> None:
    if not parent_alive:
        os.killpg(0, signal.SIGKILL)


def _report_start_failure(status_fd: int, errno: int) -> int:
    os.write(status_fd, str(errno).encode())
    return 127


def _exit_like(code: int) -> int:
    if code >= 0:
        return code
    sig = -code
    if sig not in (signal.SIGKILL, signal.SIGSTOP):
        signal.signal(sig, signal.SIG_DFL)
    os.kill(os.getpid(), sig)
    return 128 + sig  # only if the signal did not end this process


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
