"""Declaring mapped steps, branches and groups: the graph they make and their definition errors."""

import inspect

import pytest

from workflows import DefinitionError, branch, group, task, workflow


@task
def numbers(count: int) -> list[int]:
    return list(range(count))


@task
def square(n: int, factor: int = 1) -> int:
    return n * n * factor


@task
def total(values: list[int]) -> int:
    return sum(values)


@task
def step() -> None:
    pass


@branch
def choose() -> str:
    return "step"


def line_of(marker: str, fn) -> int:
    """The line of ``fn``'s source holding ``marker`` (where a definition error must point)."""
    lines, first = inspect.getsourcelines(fn)
    return first + next(i for i, text in enumerate(lines) if marker in text)


def test_a_mapped_step_waits_for_its_items_and_passes_the_fixed_arguments():
    @workflow
    def squares(count: int = 3):
        total(square.map(numbers(count), factor=2))

    mapped = squares.tasks["square"]
    assert (mapped.mapped, mapped.map_argument, mapped.kwargs) == (True, "n", {"factor": 2})
    assert mapped.upstream == ["numbers"]
    assert squares.tasks["total"].upstream == ["square"]
    spec = next(s for s in squares.task_specs() if s["name"] == "square")
    assert spec["arguments"]["map_over"] == {"$result": "numbers"}


def test_a_step_may_map_over_a_list_parameter_or_a_literal_list():
    @workflow
    def over_values(values: list[str]):
        square.map(values)
        square.map([1, 2, 3])

    assert over_values.tasks["square"].map_over.name == "values"
    assert over_values.tasks["square__2"].map_over == [1, 2, 3]


def test_mapping_over_a_literal_that_is_not_a_list_names_the_value_and_line():
    def body():
        square.map("1,2,3")  # the bad line

    with pytest.raises(DefinitionError) as caught:
        workflow(body)
    assert str(caught.value) == (
        f"workflow 'body' ({__file__}:{line_of('the bad line', body)}): square.map() needs a "
        f"list of items (an upstream task's result, a list[...] parameter or a list), "
        f"not '1,2,3' (a str)"
    )


def test_mapping_over_a_parameter_that_is_not_a_list_is_a_definition_error():
    def body(count: int = 3):
        square.map(count)  # the bad line

    with pytest.raises(DefinitionError) as caught:
        workflow(body)
    assert f"test_authoring_flow.py:{line_of('the bad line', body)}" in str(caught.value)
    assert "square.map() is over parameter 'count', which is not a list" in str(caught.value)


def test_a_literal_list_over_the_limit_is_a_definition_error(settings):
    settings.BATON_MAX_MAP = 3
    with pytest.raises(DefinitionError, match=r"square.map\(\) got 4 items, over the limit of 3"):

        @workflow
        def too_long():
            square.map([1, 2, 3, 4])


def test_a_map_that_leaves_no_parameter_for_the_item_or_names_an_unknown_one_is_refused():
    with pytest.raises(DefinitionError, match="none is left for the item"):

        @workflow
        def all_given():
            square.map([1], n=1, factor=2)

    with pytest.raises(DefinitionError, match=r"square.map\(\) called with the wrong arguments"):

        @workflow
        def unknown():
            square.map([1], colour="red")


def test_a_branch_without_steps_after_it_is_a_definition_error():
    def body():
        choose()  # the branch

    with pytest.raises(DefinitionError) as caught:
        workflow(body)
    assert f":{line_of('the branch', body)}): branch 'choose' has no step" in str(caught.value)


def test_a_branch_keeps_its_flag_in_its_spec():
    @workflow
    def branching():
        choose() >> [step(), step()]

    assert branching.tasks["choose"].branch
    spec = next(s for s in branching.task_specs() if s["name"] == "choose")
    assert spec["arguments"]["branch"] is True


def test_a_group_prefixes_its_steps_and_shift_joins_its_roots_and_leaves():
    @workflow
    def grouped():
        start = step()
        with group("extract") as extract:
            first = step()
            with group("eu"):
                second = step()
            first >> second
            step()
        end = total([])
        start >> extract >> end

    tasks = grouped.tasks
    assert set(tasks) == {"step", "extract.step", "extract.eu.step", "extract.step__2", "total"}
    assert tasks["extract.step"].group == "extract"
    assert tasks["extract.eu.step"].group == "extract.eu"
    # Roots (no upstream inside the group) wait for start; leaves are waited for by end.
    assert tasks["extract.step"].upstream == ["step"]
    assert tasks["extract.step__2"].upstream == ["step"]
    assert tasks["extract.eu.step"].upstream == ["extract.step"]
    assert sorted(tasks["total"].upstream) == ["extract.eu.step", "extract.step__2"]
    spec = next(s for s in grouped.task_specs() if s["name"] == "extract.eu.step")
    assert spec["group"] == "extract.eu"


def test_lists_with_groups_join_too():
    @workflow
    def joined():
        with group("left") as left:
            step()
        with group("right") as right:
            step()
        [left, right] >> total([])

    assert sorted(joined.tasks["total"].upstream) == ["left.step", "right.step"]


@pytest.mark.parametrize("name", ["a.b", "has space", "", 7])
def test_a_group_name_that_cannot_be_part_of_a_step_name_is_refused(name):
    with pytest.raises(DefinitionError, match="group name .* is not allowed"):

        @workflow
        def bad_group():
            with group(name):
                step()


def test_a_group_outside_a_workflow_or_an_empty_group_joined_is_refused():
    with pytest.raises(DefinitionError, match="group 'loose' was used outside a workflow"):
        group("loose")
    with pytest.raises(DefinitionError, match="group 'empty' has no step to join"):

        @workflow
        def empty_group():
            with group("empty") as empty:
                pass
            empty >> step()


def test_a_workflow_without_groups_or_maps_keeps_its_code_hash_fields():
    @workflow
    def plain():
        step()

    spec = plain.task_specs()[0]
    assert spec["group"] == ""
    assert "map_over" not in spec["arguments"] and "branch" not in spec["arguments"]
