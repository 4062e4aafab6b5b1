"""The browser fixture works: a page served by the test server renders in Chromium."""

import pytest

from tests.browser.conftest import shot

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_shows_the_admin_login_page(page, live_server):
    page.goto(f"{live_server.url}/admin/login/")
    assert page.get_by_label("Username").is_visible()
    assert shot(page, "admin-login").exists()
