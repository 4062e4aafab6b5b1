"""Reads of the audit trail: filtering, and pages that stay fast at millions of events."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from audit.models import AuditEvent

PAGE_SIZE = 50


def filtered_events(filters: dict, events: QuerySet | None = None) -> QuerySet:
    """``events`` (default: all) narrowed by the cleaned data of an ``AuditFilterForm``.

    Each filter has an index ending in id (see ``AuditEvent.Meta.indexes``);
    the search in details, a trigram index on PostgreSQL (migration 0004).
    """
    events = AuditEvent.objects.all() if events is None else events
    if filters.get("actor"):
        events = events.filter(actor_label=filters["actor"].strip())
    if filters.get("verb"):
        events = events.filter(verb=filters["verb"])
    if filters.get("workflow"):
        events = events.filter(workflow_slug=filters["workflow"])
    if filters.get("since"):
        events = _from(events, _start_of(filters["since"]))
    if filters.get("until"):
        events = _until(events, _start_of(filters["until"] + timedelta(days=1)))
    if filters.get("q"):
        events = events.filter(details__icontains=filters["q"].strip())
    return events


# Why date filters also bound the id: events are stamped under the chain lock,
# so time order follows id order, give or take the clock skew between writers.
# PostgreSQL cannot know that: for "a week last spring, newest first" it walks
# the primary key down from the newest event, filtering a million rows on the
# way. An id range found with two one-row lookups on the created_at index lets
# it walk only that week. An event whose writer's clock was off by more than
# CLOCK_SKEW_MARGIN could escape a date filter (never the trail, nor the chain).
CLOCK_SKEW_MARGIN = timedelta(days=1)


def _from(events: QuerySet, start: datetime) -> QuerySet:
    events = events.filter(created_at__gte=start)
    earlier = AuditEvent.objects.filter(created_at__lt=start - CLOCK_SKEW_MARGIN)
    last_before = earlier.order_by("-created_at").values_list("id", flat=True).first()
    return events if last_before is None else events.filter(id__gt=last_before)


def _until(events: QuerySet, end: datetime) -> QuerySet:
    events = events.filter(created_at__lt=end)
    later = AuditEvent.objects.filter(created_at__gte=end + CLOCK_SKEW_MARGIN)
    first_after = later.order_by("created_at").values_list("id", flat=True).first()
    return events if first_after is None else events.filter(id__lt=first_after)


def _start_of(day: date) -> datetime:
    """Midnight of ``day`` in the current time zone (what the person typing the date means)."""
    return timezone.make_aware(datetime.combine(day, time.min))


@dataclass(frozen=True)
class EventPage:
    """One page of events, newest first, with the cursors of its neighbours (None: no page)."""

    events: list[AuditEvent]
    newer_than: int | None  # ?after= of the Newer link
    older_than: int | None  # ?before= of the Older link


def page_of_events(
    events: QuerySet, *, before: int | None = None, after: int | None = None, size=PAGE_SIZE
) -> EventPage:
    """A keyset page: ``size`` events with id < ``before`` (or > ``after``), newest first.

    One query of ``size + 1`` rows and no COUNT: the extra row tells whether
    a further page exists.
    """
    if after:
        rows = list(events.filter(id__gt=after).order_by("id")[: size + 1])
        if rows:
            shown = rows[:size][::-1]
            newer = shown[0].pk if len(rows) > size else None
            return EventPage(shown, newer_than=newer, older_than=shown[-1].pk)
        before = None  # nothing newer than the cursor any more: show the newest
    newest_first = events.filter(id__lt=before) if before else events
    rows = list(newest_first.order_by("-id")[: size + 1])
    shown = rows[:size]
    return EventPage(
        shown,
        newer_than=shown[0].pk if before and shown else None,
        older_than=shown[-1].pk if len(rows) > size else None,
    )
