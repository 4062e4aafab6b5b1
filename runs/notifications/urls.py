from django.urls import path

from . import views

app_name = "notifications"

urlpatterns = [
    path(
        "workflows/<str:slug>/notifications/",
        views.workflow_notifications,
        name="workflow",
    ),
]
