"""Trigger rules decide as early as they can, from the upstream states alone."""

import pytest

from runs.trigger_rules import Decision, decide

S, F, UF, SK, R, P = "success", "failed", "upstream_failed", "skipped", "running", "pending"


@pytest.mark.parametrize(
    ("rule", "upstream", "expected"),
    [
        ("all_success", [], Decision.READY),
        ("all_success", [S, S], Decision.READY),
        ("all_success", [S, R], Decision.WAIT),
        ("all_success", [F, R], Decision.UPSTREAM_FAILED),
        ("all_success", [UF, S], Decision.UPSTREAM_FAILED),
        ("all_success", [SK, S], Decision.SKIPPED),
        ("all_done", [S, F, SK], Decision.READY),
        ("all_done", [F, P], Decision.WAIT),
        ("one_failed", [F, R], Decision.READY),
        ("one_failed", [S, R], Decision.WAIT),
        ("one_failed", [S, SK], Decision.SKIPPED),
        ("none_failed", [S, SK], Decision.READY),
        ("none_failed", [S, R], Decision.WAIT),
        ("none_failed", [S, F], Decision.UPSTREAM_FAILED),
        ("all_success", ["cancelled", S], Decision.UPSTREAM_FAILED),
    ],
)
def test_it_decides_by_trigger_rule(rule, upstream, expected):
    assert decide(rule, upstream) is expected
