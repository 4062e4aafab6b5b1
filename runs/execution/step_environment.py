"""What a shell or container step finds in its environment, besides what it declares."""

from workflows.plain_text import plain_text

from ..models import TaskRun


def step_environment(task_run: TaskRun, step_env: dict, *, params: dict) -> dict:
    """The run's parameters as BATON_PARAM_<NAME>, the run's ids, then the step's own env.

    ``params`` are the run's parameter values; each is passed as its plain text, the
    same text an argv item gets (``workflows.plain_text``).
    """
    env = {f"BATON_PARAM_{name.upper()}": plain_text(value) for name, value in params.items()}
    env.update(
        BATON_RUN_ID=str(task_run.run_id),
        BATON_WORKFLOW=task_run.run_info.workflow,
        BATON_TASK=task_run.task_name,
        BATON_ATTEMPT=str(task_run.attempt),
    )
    env.update(step_env)
    return env
