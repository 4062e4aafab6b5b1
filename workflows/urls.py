from django.urls import path

from . import insight_views, preset_views, version_views, views

app_name = "workflows"

urlpatterns = [
    path("", views.workflow_list, name="list"),
    path("workflows/<slug:slug>/", views.workflow_detail, name="detail"),
    path("workflows/<slug:slug>/run/", views.workflow_run, name="run"),
    path("workflows/<slug:slug>/pause/", views.workflow_pause, name="pause"),
    path("workflows/<slug:slug>/calendar/", insight_views.calendar, name="calendar"),
    path("workflows/<slug:slug>/durations/", insight_views.durations, name="durations"),
    path("workflows/<slug:slug>/code/", insight_views.current_code, name="code"),
    path(
        "workflows/<slug:slug>/presets/<int:preset_id>/delete/",
        preset_views.delete,
        name="preset_delete",
    ),
    path(
        "workflows/<slug:slug>/versions/<int:version_id>/",
        version_views.version_code,
        name="version",
    ),
    # Not under workflows/: a workflow may well be called "errors".
    path("load-errors/", version_views.load_errors, name="load_errors"),
]
