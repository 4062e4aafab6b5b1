"""axe-core (vendored under tests/browser/vendor/, MPL-2.0) run on the page a test is on.

The script is evaluated through the DevTools protocol, which the pages' CSP does
not govern, so the pages keep their policy while they are checked.
"""

from functools import cache
from pathlib import Path

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
BLOCKING = ("serious", "critical")


@cache
def _axe_source() -> str:
    return AXE.read_text()


def violations(page, *, impacts=BLOCKING) -> list[str]:
    """The page's axe violations of the given impacts, each as 'rule: targets (help)'."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(_axe_source())
    found = page.evaluate(
        "() => axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map("
        "v => ({id: v.id, impact: v.impact, help: v.help, "
        "targets: v.nodes.slice(0, 5).map(n => n.target.join(' '))})))"
    )
    return [
        f"{v['id']}: {', '.join(v['targets'])} ({v['help']})"
        for v in found
        if v["impact"] in impacts
    ]


def assert_accessible(page) -> None:
    problems = violations(page)
    assert not problems, f"{page.url}: " + "; ".join(problems)
