"""One task inside its isolated environment; started by runs/execution/isolated_task.py.

    python -I -u run_task.py STAND_IN_DIR INPUT_FD RESULT_FD

Reads from INPUT_FD the JSON the worker sends (workflow file, task function, arguments,
context), imports the workflow file with the stand-in ``workflows`` package first on
sys.path, calls the function and writes {"ok": true, "result": ...} or {"ok": false,
"error": ..., "traceback": ...} to RESULT_FD. stdout and stderr are the task's log.
Standard library only, Python 3.8+: this runs on the environment's interpreter.
"""

import datetime
import decimal
import importlib.util
import json
import logging
import os
import sys
import traceback

TAG = "__baton__"


def main(stand_in, input_fd, result_fd):
    with os.fdopen(input_fd, "rb") as sent:
        job = json.loads(sent.read())
    sys.path[:0] = [stand_in, os.path.dirname(job["file"])]
    _set_up_logging(job["context"])
    with os.fdopen(result_fd, "w", encoding="utf-8") as result:
        result.write(json.dumps(_run(job)))
    return 0


def _run(job):
    try:
        module = _import_file(job["module"], job["file"])
        import workflows  # the stand-in, which the workflow file filled with its tasks

        workflows.context.fill(_context(job["context"], module))
        function = workflows.TASKS.get(job["function"])
        if function is None:
            return _failure(
                f"The task function {job['function']!r} is not declared with @task at the top "
                f"level of {job['file']}, so its isolated environment cannot call it."
            )
        args = _decode(job["args"], module)
        kwargs = _decode(job["kwargs"], module)
        value = function(*args, **kwargs)
    except (Exception, SystemExit) as exc:  # the task's own failure, reported as such
        text = "".join(traceback.format_exception(type(exc), exc, _user_frames(exc)))
        sys.stderr.write(text)
        return _failure(f"{type(exc).__name__}: {exc}", text)
    try:
        return {"ok": True, "result": json.loads(json.dumps(value, allow_nan=False))}
    except (TypeError, ValueError) as exc:
        return {"ok": False, "not_json": str(exc)}


def _failure(error, text=""):
    return {"ok": False, "error": error, "traceback": text}


def _import_file(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look modules up by name
    spec.loader.exec_module(module)
    return module


def _user_frames(exc):
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    return tb


def _set_up_logging(context):
    # As in the worker: context.logger lines are short, other loggers' name their logger.
    long = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format=long)
    short = logging.StreamHandler(sys.stderr)
    short.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    task_logger = logging.getLogger("baton.task")
    task_logger.addHandler(short)
    task_logger.propagate = False
    task_logger.setLevel(logging.INFO)


def _context(values, module):
    values = dict(values)
    values["parameters"] = _decode(values["parameters"], module)
    values["logical_date"] = _decode(values["logical_date"], module)
    values["logger"] = logging.getLogger(f"baton.task.{values['workflow']}.{values['task']}")
    return values


def _decode(value, module):
    """The worker's values back: dates, times, durations, decimals and enum members."""
    if isinstance(value, list):
        return [_decode(item, module) for item in value]
    if not isinstance(value, dict):
        return value
    if TAG not in value:
        return {key: _decode(item, module) for key, item in value.items()}
    kind, text = value[TAG], value["value"]
    if kind == "datetime":
        return datetime.datetime.fromisoformat(text)
    if kind == "date":
        return datetime.date.fromisoformat(text)
    if kind == "time":
        return datetime.time.fromisoformat(text)
    if kind == "timedelta":
        return datetime.timedelta(seconds=text)
    if kind == "decimal":
        return decimal.Decimal(text)
    if kind == "enum":
        return _enum_member(module, value["class"], text)
    raise ValueError(f"unknown value kind {kind!r}")


def _enum_member(module, qualname, value):
    found = module
    for part in qualname.split("."):
        found = getattr(found, part, None)
    return found(value) if found is not None else value


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
