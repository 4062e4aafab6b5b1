"""Declaring workflows: graph building, options and definition errors."""

from datetime import timedelta
from typing import Annotated

import pytest

from workflows import DefinitionError, Secret, TriggerRule, shell, task, workflow


@task
def extract(site_id: int) -> list[dict]:
    return [{"site": site_id}]


@task(retries=3, retry_delay=timedelta(seconds=10), retry_backoff=True)
def load(rows: list[dict], dry_run: bool) -> int:
    return len(rows)


@task
def notify() -> None:
    pass


def test_it_adds_a_data_edge_when_a_result_is_passed_on():
    @workflow
    def export(site_id: int, dry_run: bool = True):
        rows = extract(site_id)
        load(rows, dry_run)

    assert list(export.tasks) == ["extract", "load"]
    assert export.tasks["load"].upstream == ["extract"]
    assert export.tasks["extract"].upstream == []


def test_it_adds_order_edges_with_shift_operators():
    @workflow
    def ordered(site_id: int):
        a = extract(site_id)
        b = notify()
        c = notify()
        a >> b >> c
        [a, b] >> notify()

    assert ordered.tasks["notify"].upstream == ["extract"]
    assert ordered.tasks["notify__2"].upstream == ["notify"]
    assert ordered.tasks["notify__3"].upstream == ["extract", "notify"]


def test_it_orders_tasks_topologically_even_when_declared_out_of_order():
    @workflow
    def backwards():
        first = notify()
        second = notify()
        second >> first

    assert list(backwards.tasks) == ["notify__2", "notify"]


def test_it_keeps_options_and_stores_them_in_task_specs():
    @workflow(schedule="0 3 * * *", tags=["billing"], max_active_runs=1, owners=["ops@x.io"])
    def nightly(site_id: Annotated[int, "Site to export"], dry_run: bool = True):
        """Export bookings.

        More text."""
        load(extract(site_id), dry_run)

    assert nightly.slug == "nightly"
    assert nightly.title == "Nightly"
    assert nightly.description.startswith("Export bookings.")
    assert nightly.schedule == "0 3 * * *"
    assert (nightly.tags, nightly.owners, nightly.max_active_runs) == (["billing"], ["ops@x.io"], 1)
    spec = {s["name"]: s for s in nightly.task_specs()}["load"]
    assert spec["retries"] == 3
    assert spec["retry_backoff"] is True
    assert spec["arguments"] == {
        "args": [{"$result": "extract"}, {"$param": "dry_run"}],
        "kwargs": {},
    }
    assert spec["trigger_rule"] == TriggerRule.ALL_SUCCESS


def test_it_doubles_the_retry_delay_with_backoff_up_to_the_cap():
    options = load.options
    assert [options.delay_before_attempt(n).total_seconds() for n in (2, 3, 4)] == [10, 20, 40]
    capped = load.with_options(max_retry_delay=timedelta(seconds=15)).options
    assert capped.delay_before_attempt(4) == timedelta(seconds=15)


def test_it_resolves_arguments_at_run_time():
    @workflow
    def export(site_id: int, dry_run: bool = False):
        load(extract(site_id), dry_run=dry_run)

    args, kwargs = export.tasks["load"].resolve_call(
        params={"site_id": 4, "dry_run": True}, results={"extract": [{"site": 4}]}
    )
    assert args == ([{"site": 4}],)
    assert kwargs == {"dry_run": True}


def test_shell_resolves_argv_env_and_relative_paths(monkeypatch):
    monkeypatch.setenv("BILLING_TOKEN", "s3cret")

    @workflow
    def backup(site_id: int):
        shell(
            "backup",
            ["scripts/backup.sh", "--site", site_id],
            env={"TOKEN": Secret("BILLING_TOKEN")},
        )

    node = backup.tasks["backup"]
    argv, env, cwd = node.resolve_command(params={"site_id": 7}, results={})
    assert argv[0].endswith("/tests/scripts/backup.sh")
    assert argv[1:] == ["--site", "7"]
    assert env == {"TOKEN": "s3cret"}
    assert cwd.endswith("/tests")
    assert node.secrets() == [Secret("BILLING_TOKEN")]
    assert {s["name"]: s for s in backup.task_specs()}["backup"]["arguments"]["env"] == {
        "TOKEN": {"$secret": "BILLING_TOKEN"}
    }


def test_a_missing_secret_says_which_variable_to_set():
    from workflows.references import MissingSecret

    with pytest.raises(MissingSecret, match="define the environment variable NOPE_TOKEN"):
        Secret("NOPE_TOKEN").resolve()


def _line_of(text: str, fn) -> int:
    import inspect

    lines, start = inspect.getsourcelines(fn)
    return start + next(i for i, line in enumerate(lines) if text in line)


def test_a_cycle_is_a_definition_error_naming_the_workflow_and_file():
    with pytest.raises(DefinitionError) as caught:

        @workflow
        def circular():
            a = notify()
            b = notify()
            a >> b >> a

    message = str(caught.value)
    assert "workflow 'circular'" in message
    assert "test_authoring.py:" in message
    assert "cycle: notify → notify__2 → notify" in message


def test_a_duplicate_task_name_is_a_definition_error():
    with pytest.raises(DefinitionError, match="duplicate task name 'backup'") as caught:

        @workflow
        def twice():
            shell("backup", ["true"])
            shell("backup", ["false"])

    assert "workflow 'twice'" in str(caught.value)


def test_a_task_called_outside_a_workflow_names_the_file_and_line():
    with pytest.raises(DefinitionError) as caught:
        notify()
    message = str(caught.value)
    assert "task 'notify' was called outside a workflow" in message
    line = _line_of("notify()", test_a_task_called_outside_a_workflow_names_the_file_and_line)
    assert f"test_authoring.py:{line}" in message


def test_a_parameter_tested_in_the_body_is_a_definition_error_with_its_line():
    def body(dry_run: bool = True):
        if dry_run:
            notify()

    with pytest.raises(DefinitionError) as caught:
        workflow(body)
    message = str(caught.value)
    assert "parameter 'dry_run' is only known when the workflow runs" in message
    assert f"test_authoring.py:{_line_of('if dry_run', body)}" in message


def test_an_unsupported_parameter_type_is_a_definition_error():
    with pytest.raises(DefinitionError, match="'ids'") as caught:

        @workflow
        def bad(ids: set[int]):
            notify()

    assert "workflow 'bad'" in str(caught.value)


def test_a_non_json_default_is_a_definition_error():
    with pytest.raises(DefinitionError, match="'rows'") as caught:

        @workflow
        def bad(rows: dict = {"at": object()}):  # noqa: B006, B008
            notify()

    assert "workflow 'bad'" in str(caught.value)


def test_a_shell_command_given_as_a_string_is_refused():
    with pytest.raises(DefinitionError, match="argv must be a non-empty list"):

        @workflow
        def stringly():
            shell("bad", "rm -rf /tmp/x")


def test_wrong_arguments_to_a_task_are_a_definition_error():
    with pytest.raises(DefinitionError, match="task 'load' called with the wrong arguments"):

        @workflow
        def wrong():
            load()


def test_bad_options_are_definition_errors():
    with pytest.raises(DefinitionError, match="trigger_rule 'sometimes'"):
        task(trigger_rule="sometimes")(lambda: None)
    with pytest.raises(DefinitionError, match="unknown option"):
        task(retry=3)
    with pytest.raises(DefinitionError, match="cron schedule '0 25 \\* \\* \\*' is invalid"):

        @workflow(schedule="0 25 * * *")
        def late():
            notify()

    with pytest.raises(DefinitionError, match="must have 5 fields"):

        @workflow(schedule="daily")
        def vague():
            notify()


def test_a_workflow_without_tasks_is_a_definition_error():
    with pytest.raises(DefinitionError, match="declares no task"):

        @workflow
        def empty():
            pass


def test_a_task_name_with_a_slash_is_a_definition_error_naming_the_file_and_line():
    def declare():
        @workflow
        def slashed():
            notify.with_options(name="a/b")()

    with pytest.raises(DefinitionError) as caught:
        declare()

    line = _line_of('with_options(name="a/b")', declare)
    assert str(caught.value) == (
        f"workflow 'slashed' ({__file__}:{line}): task name 'a/b' is not allowed: use up to 150 "
        f"letters (a-z, A-Z), digits, _, - and . starting with a letter, digit or _, "
        f"e.g. 'extract_eu'"
    )


def test_a_shell_step_name_is_checked_where_it_is_declared():
    def declare():
        @workflow
        def backups():
            shell("../backup", ["true"])

    with pytest.raises(DefinitionError, match="shell task name '../backup' is not allowed") as e:
        declare()
    assert f"workflow 'backups' ({__file__}:{_line_of('shell(', declare)})" in str(e.value)


@pytest.mark.parametrize("name", ["a b", "café", "", ".", "x?y", "t" * 151])
def test_a_task_declared_with_a_bad_name_is_refused_at_its_decorator(name):
    with pytest.raises(DefinitionError, match="is not allowed") as caught:
        task(name=name)(lambda: None)
    line = _line_of(
        "task(name=name)", test_a_task_declared_with_a_bad_name_is_refused_at_its_decorator
    )
    assert str(caught.value).startswith(f"{__file__}:{line}: task name {name!r}")


def test_step_names_may_hold_letters_digits_underscores_dashes_and_dots():
    @workflow
    def named():
        shell("backup-v1.2", ["true"]) >> notify.with_options(name="_notify.eu-2")()

    assert list(named.tasks) == ["backup-v1.2", "_notify.eu-2"]


def test_a_workflow_whose_name_cannot_be_an_address_is_refused():
    with pytest.raises(DefinitionError, match="may hold only the letters a-z and A-Z") as caught:

        @workflow
        def résumé():
            notify()

    assert "workflow 'résumé'" in str(caught.value)
