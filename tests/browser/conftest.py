"""Browser tests: Playwright driving Debian's Chromium, headless.

A test that needs a browser takes the ``page`` fixture; ``shot(page, name)``
saves a screenshot under tests/screenshots/ (git-ignored).
"""

import os
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import _missing_service

CHROMIUM = os.environ.get("BATON_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"

# Playwright's sync API keeps an event loop in the test thread; the test's own
# database calls (fixtures, assertions) are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _missing_service(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.test_name = re.sub(r"\W+", "_", request.node.name)
    yield page
    context.close()


def shot(page, name: str) -> Path:
    """Save a screenshot of what the user sees now."""
    folder = SCREENSHOTS / page.test_name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


COLLECT_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(
    `${event.effectiveDirective} refused ${event.blockedURI || "inline"} ` +
    `(${event.sourceFile || document.location.pathname}:${event.lineNumber})`
  );
});
"""


@pytest.fixture
def watched(page):
    """The page, with every CSP violation it reports (events and console) in ``page.refused``."""
    page.refused = []
    page.add_init_script(COLLECT_VIOLATIONS)
    page.on(
        "console",
        lambda message: (
            page.refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return page
