"""Demo workflows, loaded in the embedded default so a newcomer has something to run."""

import random
import time
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Literal

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from workflows import Secret, approval, branch, context, group, shell, task, workflow


@task
def fetch_sales(region: str, day: date | None) -> list[dict]:
    day = day or timezone.localdate() - timedelta(days=1)
    context.logger.info("Fetching sales for %s on %s", region, day.isoformat())
    rng = random.Random(f"{region}{day}")
    return [{"shop": f"{region}-{n}", "amount": rng.randint(100, 5000)} for n in range(1, 9)]


@task
def summarise(rows: list[dict], top_n: int, threshold: Decimal) -> dict:
    best = sorted(rows, key=lambda r: r["amount"], reverse=True)[:top_n]
    over = [r["shop"] for r in rows if r["amount"] >= threshold]
    context.logger.info("Top %d shops: %s", top_n, ", ".join(r["shop"] for r in best))
    return {"total": sum(r["amount"] for r in rows), "best": best, "over_threshold": over}


@task
def publish(summary: dict, recipients: list[str], dry_run: bool) -> str:
    action = "Would send" if dry_run else "Sent"
    message = f"{action} a total of {summary['total']} to {', '.join(recipients) or 'nobody'}"
    print(message)
    return message


# Title, description and help texts as lazy translations: makemessages finds them, and
# each reader sees them in their language (locale/fr has the French).
@workflow(
    tags=["demo", "sales"],
    title=_("Sales report"),
    description=_("Build the daily sales summary of a region and send it to its managers."),
)
def sales_report(
    region: Annotated[Literal["north", "south", "east", "west"], _("Sales region")] = "north",
    day: Annotated[date | None, _("Day to report on; yesterday when empty")] = None,
    top_n: Annotated[int, _("How many shops to list")] = 3,
    threshold: Annotated[Decimal, _("Highlight shops selling at least this amount")] = Decimal(
        "2500"
    ),
    recipients: Annotated[list[str], _("E-mail addresses, one per line")] = ["ops@example.com"],  # noqa: B006
    dry_run: Annotated[bool, _("Only show what would be sent")] = True,
):
    """Build the daily sales summary of a region and send it to its managers."""
    rows = fetch_sales(region, day)
    summary = summarise(rows, top_n, threshold)
    publish(summary, recipients, dry_run)


@task
def check_backup(folder: str) -> str:
    context.logger.info("Checking the archive in %s", folder)
    return folder


@workflow(tags=["demo", "shell"])
def backup_files(
    folder: Annotated[str, "Folder to archive"] = "/tmp",
    keep_days: Annotated[int, "Delete archives older than this"] = 7,
):
    """Archive a folder with a shell script shipped in examples/scripts/."""
    archive = shell(
        "archive",
        ["scripts/backup.sh", folder, keep_days],
        env={"BACKUP_LABEL": Secret("BATON_DEMO_BACKUP_LABEL")},
        timeout=timedelta(minutes=5),
    )
    archive >> check_backup(folder)


@task(retries=3, retry_delay=timedelta(seconds=2), retry_backoff=True)
def import_partner_file(partner: str) -> int:
    context.logger.info("Attempt %d to download the file of %s", context.attempt, partner)
    if context.attempt < 3:
        raise ConnectionError(f"{partner}'s server did not answer (this demo fails twice)")
    return 42


@task
def count_rows(rows: int) -> str:
    time.sleep(0.2)
    return f"{rows} rows imported"


@workflow(schedule="0 3 * * *", tags=["demo"])
def flaky_import(partner: Annotated[str, "Partner whose file to import"] = "acme"):
    """Import a partner's file; the download fails twice on purpose, then succeeds on retry."""
    count_rows(import_partner_file(partner))


@task
def prepare_payments(batch: str) -> dict:
    context.logger.info("Preparing the supplier payments of batch %s", batch)
    return {"batch": batch, "suppliers": 12, "total": 48_250}


@task(pool="bank_api")
def send_payments(payments: dict, decision: dict) -> str:
    message = (
        f"Sent {payments['suppliers']} payments ({payments['total']}) of batch "
        f"{payments['batch']}, approved by {decision['approved_by']}"
    )
    print(message)
    return message


@workflow(tags=["demo", "finance"])
def supplier_payment(batch: Annotated[str, "Payment batch to send"] = "2026-W48"):
    """Prepare a batch of supplier payments, wait for Finance to approve it, then send it."""
    payments = prepare_payments(batch)
    decision = approval("Finance sign-off", approvers="group:Finance", timeout=timedelta(days=2))
    payments >> decision
    send_payments(payments, decision)


@task
def count_orders(region: str, days: int) -> dict:
    rng = random.Random(f"{region}{timezone.localdate()}")
    orders = sum(rng.randint(20, 120) for _ in range(days))
    context.logger.info("%s: %d orders over %d days", region, orders, days)
    return {"region": region, "orders": orders}


@task
def add_up_regions(counts: list[dict]) -> dict:
    return {"orders": sum(c["orders"] for c in counts), "regions": len(counts)}


@branch
def busy_or_quiet(total: dict, alert_over: int) -> str:
    return "alert_sales" if total["orders"] > alert_over else "archive_totals"


@task
def alert_sales(total: dict) -> str:
    print(f"Busy week: {total['orders']} orders in {total['regions']} regions")
    return "alerted"


@task
def archive_totals(total: dict) -> str:
    print(f"Quiet week: {total['orders']} orders archived")
    return "archived"


@workflow(tags=["demo", "mapping"])
def regional_orders(
    regions: Annotated[list[str], "Regions to count, one per line"] = [  # noqa: B006
        "north",
        "south",
        "east",
        "west",
    ],
    days: Annotated[int, "Days to count"] = 7,
    alert_over: Annotated[int, "Alert sales above this many orders"] = 2000,
):
    """Count each region's orders in a step of its own, add them up, then alert or archive."""
    with group("collect") as collect:
        total = add_up_regions(count_orders.map(regions, days=days))
    choice = busy_or_quiet(total, alert_over)
    collect >> choice >> [alert_sales(total), archive_totals(total)]
