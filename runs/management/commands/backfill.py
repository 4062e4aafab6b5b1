from datetime import datetime, time, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from runs.schedule_book import latest_slot
from runs.services import WorkflowNotRunnable, trigger_run
from workflows.errors import ParameterErrors
from workflows.models import Workflow
from workflows.schedules import slots_between


def parse_moment(value: str) -> datetime:
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise CommandError(
                f"{value!r} is not a date (2026-01-31) or date-time (2026-01-31T03:00)"
            )
        moment = datetime.combine(day, time.min)
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


class Command(BaseCommand):
    help = "Create runs for the schedule slots of a past range (oldest first), once per slot."

    def add_arguments(self, parser):
        parser.add_argument("workflow", help="The workflow's slug.")
        parser.add_argument("--start", required=True, help="First moment, e.g. 2026-01-01.")
        parser.add_argument("--end", required=True, help="Last moment (included).")
        parser.add_argument("--schedule", help="Name of the schedule, when it has several.")
        parser.add_argument("--limit", type=int, default=1000, help="At most this many runs.")

    def handle(self, *args, workflow, start, end, schedule, limit, **options):
        wf = Workflow.objects.filter(slug=workflow).first()
        if wf is None:
            raise CommandError(f"no workflow named {workflow!r}")
        chosen = self._schedule(wf, schedule)
        first, last = parse_moment(start), parse_moment(end)
        if last < first:
            raise CommandError("--end is before --start")
        task = chosen.periodic_task
        slots = slots_between(task, first - timedelta(microseconds=1), last, limit=limit)
        created = 0
        previous = latest_slot(task, first - timedelta(days=400), first - timedelta(microseconds=1))
        for slot in slots:
            created += self._create(wf, chosen, slot, previous=previous)
            previous = slot
        self.stdout.write(
            f"{created} run(s) created, {len(slots) - created} slot(s) already had a run."
        )

    def _schedule(self, wf, name):
        schedules = wf.schedules.select_related("periodic_task__crontab", "periodic_task__interval")
        if name:
            schedules = schedules.filter(periodic_task__name=name)
        chosen = schedules.order_by("-from_code", "pk").first()
        if chosen is None:
            raise CommandError(
                f"workflow {wf.slug!r} has no schedule{' named ' + name if name else ''}"
            )
        return chosen

    def _create(self, wf, chosen, slot, previous) -> int:
        try:
            with transaction.atomic():
                trigger_run(
                    workflow=wf,
                    parameters=chosen.parameters,
                    trigger="backfill",
                    schedule=chosen,
                    logical_date=slot,
                    data_interval=(previous, slot),
                )
        except IntegrityError:
            return 0
        except ParameterErrors as exc:
            raise CommandError(f"the schedule's parameters are invalid: {exc}") from None
        except WorkflowNotRunnable as exc:
            raise CommandError(str(exc)) from None
        return 1
