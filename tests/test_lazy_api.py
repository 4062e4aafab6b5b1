"""The REST API's modules (Django Ninja, pydantic, the schemas) load with the first API request.

A web process that serves pages only does not keep them (~13 MiB resident each).
"""

import subprocess
import sys

from django.urls import reverse

from tests.processes import ROOT

# In a fresh process: a page, then the API, and which of them imported Django Ninja.
PAGE_THEN_API = """
import sys
import django
django.setup()
from django.test import Client
client = Client()
page = client.get("/no-such-page/", HTTP_HOST="localhost")
print("page", page.status_code, page["Content-Type"], "ninja" in sys.modules)
bad_host = client.get("/no-such-page/", HTTP_HOST="bad.example")
print("bad host", bad_host.status_code, "ninja" in sys.modules)
api = client.get("/api/v1/runs", HTTP_HOST="localhost")
print("api", api.status_code, api["Content-Type"], "ninja" in sys.modules)
"""


def test_a_page_request_leaves_the_api_unloaded_and_an_api_request_loads_it(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", PAGE_THEN_API],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "BATON_SQLITE_PATH": str(tmp_path / "baton.sqlite3"),
        },
    )

    assert done.returncode == 0, done.stderr
    page, bad_host, api = done.stdout.splitlines()[-3:]
    assert page == "page 404 text/html; charset=utf-8 False"
    assert bad_host == "bad host 400 False"
    assert api == "api 401 application/json; charset=utf-8 True"


def test_pages_and_api_urls_reverse_outside_a_request():
    assert reverse("runs:list") == "/runs/"
    assert reverse("api:get_run", args=[7]) == "/api/v1/runs/7"


def test_a_trailing_slash_is_still_added_to_a_page_url(client):
    assert client.get("/runs")["Location"] == "/runs/"
