"""Schedules declared in code: cron strings and intervals."""

from celery.schedules import crontab

from .errors import DefinitionError

CRON_FIELDS = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")


def parse_cron(expression: str, where: dict | None = None) -> dict:
    """The five fields of a cron string, checked; DefinitionError names a bad one."""
    parts = expression.split()
    if len(parts) != 5:
        raise DefinitionError(
            f"cron schedule {expression!r} must have 5 fields (minute hour day-of-month "
            f"month day-of-week), e.g. '0 3 * * *'",
            **(where or {}),
        )
    fields = dict(zip(CRON_FIELDS, parts, strict=True))
    try:
        crontab(**fields)
    except (ValueError, IndexError) as exc:
        raise DefinitionError(
            f"cron schedule {expression!r} is invalid: {exc}", **(where or {})
        ) from None
    return fields
