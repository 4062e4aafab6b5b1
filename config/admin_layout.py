"""The admin's index (and its side bar): one Baton section in the order admins work,
without the third-party models they never need to touch.

Hidden: django-celery-beat's rows (schedules are edited as Baton's *Workflow
schedules*, which make those rows), Dramatiq's task log (the runs say it better),
allauth's e-mail addresses and social tokens (sign-in data, not settings). Users,
groups and the Google sign-in app stay where Django and allauth put them.
"""

from django.contrib import admin
from django.urls import reverse

BATON_APPS = ("workflows", "runs", "accounts", "audit")
# (app label, model name), in the order of the Baton section; the rest follow by name.
BATON_ORDER = (
    ("workflows", "workflow"),
    ("workflows", "workflowschedule"),
    ("runs", "workflowrun"),
    ("runs", "taskrun"),
    ("runs", "taskattempt"),
    ("runs", "pool"),
    ("runs", "notificationrule"),
    ("runs", "channel"),
    ("runs", "notification"),
    ("accounts", "apitoken"),
    ("audit", "auditevent"),
    ("workflows", "taskspec"),
    ("workflows", "workflowloaderror"),
)
HIDDEN = (
    ("django_celery_beat", "periodictask"),
    ("django_celery_beat", "clockedschedule"),
    ("django_celery_beat", "crontabschedule"),
    ("django_celery_beat", "solarschedule"),
    ("django_celery_beat", "intervalschedule"),
    ("django_dramatiq", "task"),
    ("account", "emailaddress"),
    ("socialaccount", "socialtoken"),
)


def _rank(model: dict) -> tuple:
    key = _key(model)
    position = BATON_ORDER.index(key) if key in BATON_ORDER else len(BATON_ORDER)
    return position, str(model["name"])


def _shown(app: dict) -> dict:
    models = [m for m in app["models"] if _key(m) not in HIDDEN]
    return {**app, "models": models}


def _key(model: dict) -> tuple[str, str]:
    meta = model["model"]._meta
    return meta.app_label, meta.model_name


def arrange(site: admin.AdminSite) -> None:
    """Leave the models admins do not need out of the index (their pages still answer, for
    the rare repair) and gather Baton's into one section."""
    plain = site.get_app_list

    def get_app_list(request, app_label=None):
        listed = [app for app in map(_shown, plain(request, app_label)) if app["models"]]
        if app_label is not None:
            return listed
        baton = [app for app in listed if app["app_label"] in BATON_APPS]
        others = [app for app in listed if app["app_label"] not in BATON_APPS]
        if not baton:
            return others
        section = {
            "name": "Baton",
            "app_label": "workflows",
            "app_url": reverse("admin:app_list", args=["workflows"]),
            "has_module_perms": True,
            "models": sorted((m for app in baton for m in app["models"]), key=_rank),
        }
        return [section, *others]

    site.get_app_list = get_app_list
