"""The admin's index: one Baton section in a working order, third-party models hidden."""

import re

import pytest

pytestmark = pytest.mark.django_db


def test_the_index_has_one_baton_section_in_order_and_hides_what_admins_do_not_need(admin_client):
    page = admin_client.get("/admin/").content.decode()

    sections = re.findall(r'<caption>\s*<a href="[^"]*" class="section"[^>]*>([^<]+)</a>', page)
    assert sections[0] == "Baton"
    assert "Workflows" not in sections[1:] and "Runs" not in sections[1:]
    baton = page.split("</table>", 1)[0]
    names = re.findall(r'<th scope="row"[^>]*>\s*<a href="[^"]+"[^>]*>([^<]+)</a>', baton)
    assert names[:3] == ["Workflows", "Workflow schedules", "Workflow runs"]
    for hidden in ("Solar events", "Social application tokens", "Tasks</a>", "Periodic tasks"):
        assert hidden not in page
    assert "Social applications" in page and "Users" in page


def test_hidden_models_are_left_out_of_the_side_bar_too(admin_client):
    page = admin_client.get("/admin/workflows/workflow/").content.decode()

    assert "Solar events" not in page and "Workflow schedules" in page


def test_a_code_declared_workflow_cannot_be_deleted(admin_client):
    from workflows.models import Workflow

    workflow = Workflow.objects.get(slug="sales_report")

    response = admin_client.post(
        f"/admin/workflows/workflow/{workflow.pk}/delete/", {"post": "yes"}
    )

    assert response.status_code == 403
    assert Workflow.objects.filter(pk=workflow.pk).exists()
