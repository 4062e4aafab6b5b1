"""`manage.py up` starts one run of each demo workflow on its first start only."""

import pytest
from django.contrib.auth.models import Group

from accounts.testing import make_user
from examples.demo import start_demo_runs
from runs.models import Pool, WorkflowRun
from runs.testing import in_process_worker, wait_for_run


@pytest.mark.django_db(transaction=True)
def test_the_demo_runs_succeed_and_the_flaky_one_retries():
    admin = make_user("admin", superuser=True)
    with in_process_worker():
        runs = start_demo_runs(user=admin)
        finished = {run.workflow.slug: wait_for_run(run, timeout=30) for run in runs}
    assert {slug: run.state for slug, run in finished.items()} == {
        "sales_report": "success",
        "backup_files": "success",
        "flaky_import": "success",
        "regional_orders": "success",
    }
    flaky = finished["flaky_import"].task_runs.get(task_name="import_partner_file")
    assert flaky.attempt == 3
    assert start_demo_runs(user=admin) == []  # not again once runs exist
    assert WorkflowRun.objects.count() == 4
    # regional_orders maps over its four regions, then its branch picks one side.
    regional = finished["regional_orders"]
    counted = regional.task_runs.get(task_name="collect.count_orders")
    assert (counted.map_count, len(counted.result)) == (4, 4)
    sides = dict(regional.task_runs.values_list("task_name", "state"))
    assert sorted([sides["alert_sales"], sides["archive_totals"]]) == ["skipped", "success"]
    # What supplier_payment needs: its approvers group and the pool of its bank step.
    assert Group.objects.filter(name="Finance").exists()
    assert Pool.objects.filter(name="bank_api", slots=1).exists()
