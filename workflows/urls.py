from django.urls import path

from . import views

app_name = "workflows"

urlpatterns = [
    path("", views.workflow_list, name="list"),
    path("workflows/<slug:slug>/", views.workflow_detail, name="detail"),
    path("workflows/<slug:slug>/run/", views.workflow_run, name="run"),
    path("workflows/<slug:slug>/pause/", views.workflow_pause, name="pause"),
]
