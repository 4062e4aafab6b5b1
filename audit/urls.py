from django.urls import path

from . import views

app_name = "audit"

urlpatterns = [
    path("audit/", views.audit_page, name="audit"),
    path("audit/export.csv", views.audit_export, name="audit_export"),
    path("workflows/<slug:slug>/history/", views.workflow_history, name="workflow_history"),
    path(
        "workflows/<slug:slug>/history/export.csv",
        views.workflow_history_export,
        name="workflow_history_export",
    ),
]
