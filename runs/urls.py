from django.urls import path

from . import action_views, approval_views, code_views, log_views, views

app_name = "runs"

urlpatterns = [
    path("runs/", views.run_list, name="list"),
    path("runs/<int:run_id>/", views.run_detail, name="detail"),
    path("runs/<int:run_id>/code/", code_views.run_code, name="code"),
    path("runs/<int:run_id>/cancel/", action_views.cancel, name="cancel"),
    path("runs/<int:run_id>/note/", action_views.note, name="note"),
    path("runs/<int:run_id>/retry/", action_views.retry_failed, name="retry_failed"),
    path("runs/<int:run_id>/tasks/<str:task>/retry/", action_views.retry_one, name="retry_task"),
    path("runs/<int:run_id>/tasks/<str:task>/mark/", action_views.mark, name="mark_task"),
    path(
        "runs/<int:run_id>/tasks/<str:task>/approve/",
        approval_views.approve,
        name="approve_step",
    ),
    path("runs/<int:run_id>/tasks/<str:task>/reject/", approval_views.reject, name="reject_step"),
    path("runs/<int:run_id>/tasks/<str:task>/log/", log_views.task_log, name="task_log"),
    path(
        "runs/<int:run_id>/tasks/<str:task>/log/tail/",
        log_views.task_log_tail,
        name="task_log_tail",
    ),
    path(
        "runs/<int:run_id>/tasks/<str:task>/log/earlier/",
        log_views.task_log_earlier,
        name="task_log_earlier",
    ),
    path(
        "runs/<int:run_id>/tasks/<str:task>/log/download/",
        log_views.task_log_download,
        name="task_log_download",
    ),
]
