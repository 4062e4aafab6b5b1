"""``manage.py verify_audit``: check that no audit event was changed, removed or inserted."""

from django.core.management.base import BaseCommand, CommandError

from audit.verification import verify_chain


class Command(BaseCommand):
    help = (
        "Walk the audit trail's hash chain; print 'N events, chain intact', "
        "or name the first event that does not match and exit with status 1."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size", type=int, default=5000, help="Events read per query (default 5000)."
        )

    def handle(self, *args, batch_size, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be 1 or more.")
        report = verify_chain(batch_size=batch_size)
        if report.is_intact:
            self.stdout.write(
                f"{report.intact_count} events, chain intact (last hash {report.last_hash})."
            )
            return
        raise CommandError(self._describe_break(report))

    @staticmethod
    def _describe_break(report) -> str:
        event = report.event
        if event is None:
            where = "The audit chain is broken at its end"
        else:
            when = event["created_at"].strftime("%Y-%m-%d %H:%M:%S %Z")
            where = f"Audit event #{event['id']} ({when}, {event['verb']}) does not match"
        count = report.intact_count
        before = f"{count} event before it is" if count == 1 else f"{count} events before it are"
        return f"{where}: {report.problem}. {before} intact."
