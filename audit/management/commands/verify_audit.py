"""``manage.py verify_audit``: check that no audit event was changed, removed or inserted."""

from django.core.management.base import BaseCommand, CommandError

from audit.checkpoint import CheckpointError, checkpoint_path, load_checkpoint, save_checkpoint
from audit.verification import verify_chain


class Command(BaseCommand):
    help = (
        "Walk the audit trail's hash chain and compare it with the checkpoint of the last "
        "check (BATON_AUDIT_CHECKPOINT); print 'N events, chain intact' and save a new "
        "checkpoint, or name the first event that does not match and exit with status 1."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size", type=int, default=5000, help="Events read per query (default 5000)."
        )

    def handle(self, *args, batch_size, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be 1 or more.")
        path = checkpoint_path()
        try:
            checkpoint = load_checkpoint(path)
        except CheckpointError as exc:
            raise CommandError(f"{exc}.") from None
        report = verify_chain(batch_size=batch_size, checkpoint=checkpoint)
        if not report.is_intact:
            if report.checkpoint_broken:
                raise CommandError(self._describe_missing(report, checkpoint, path))
            raise CommandError(self._describe_break(report))
        self.stdout.write(
            f"{report.intact_count} events, chain intact (last hash {report.last_hash})."
        )
        if not report.intact_count:
            return
        try:
            save_checkpoint(
                path, count=report.intact_count, last_id=report.last_id, last_hash=report.last_hash
            )
        except CheckpointError as exc:
            intact = "The chain is intact, but the checkpoint was not saved."
            raise CommandError(f"{intact} {exc}.") from None
        self.stdout.write(f"Checkpoint saved in {path} (up to event #{report.last_id}).")

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

    @staticmethod
    def _describe_missing(report, checkpoint, path) -> str:
        return (
            f"The audit trail does not match the checkpoint of {checkpoint.checked_at} "
            f"(in {path}): {report.problem}. If this database was replaced on purpose, "
            f"move that file away and run verify_audit again."
        )
