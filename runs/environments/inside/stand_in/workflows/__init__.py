"""Baton's authoring API as a task sees it inside its isolated environment.

No Django here, nor anything of the worker's: ``@task`` and ``@workflow`` return the
plain function, ``context`` is filled by ``run_task.py`` from what the worker sent, and
every other name (``shell``, ``Secret``, ``Range``…) is a stand-in that accepts anything,
since only a workflow's body uses them and it does not run here. Plain Python 3.8+.
"""

import logging

# The @task functions of the imported workflow file, by qualified name, for run_task.py.
TASKS = {}


def task(fn=None, **options):
    """Register the function for run_task.py and return it unchanged."""

    def decorate(func):
        TASKS[func.__qualname__] = func
        func.fn = func
        func.with_options = lambda **overrides: func
        return func

    return decorate(fn) if fn is not None else decorate


def workflow(fn=None, **options):
    return fn if fn is not None else (lambda func: func)


class DefinitionError(Exception):
    pass


class ParameterErrors(Exception):
    pass


class OutsideTaskError(RuntimeError):
    pass


class _Context:
    """What the running task knows about its run: run_id, workflow, task, attempt…"""

    def __init__(self):
        self._values = None

    def fill(self, values):
        self._values = values

    def __getattr__(self, name):
        values = self.__dict__.get("_values")
        if values is None:
            raise OutsideTaskError(f"workflows.context.{name} is only available while a task runs")
        if name not in values:
            raise AttributeError(f"workflows.context has no {name!r}")
        return values[name]


context = _Context()
logger = logging.getLogger("baton.task")


class _StandIn:
    """Any other name of the authoring API: callable, subscriptable, a context manager."""

    def __init__(self, name):
        self._name = name

    def __call__(self, *args, **kwargs):
        if len(args) == 1 and not kwargs and callable(args[0]) and hasattr(args[0], "__code__"):
            return task(args[0])  # another decorator of steps (@branch…): its function runs here
        return self

    def __getattr__(self, name):
        return _StandIn(f"{self._name}.{name}")

    def __getitem__(self, item):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __repr__(self):
        return f"<workflows.{self._name} (not used inside an isolated task)>"


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    return _StandIn(name)
