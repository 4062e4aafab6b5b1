"""Idempotency keys of API requests that start runs: a retried request does not start two runs.

Same key, same user, same workflow within ``ApiIdempotencyKey.LIFETIME``: the
first request's run is the answer. The same key with other parameters is
refused, as the IETF draft "The Idempotency-Key HTTP Header Field" advises.
"""

import hashlib
import json
from collections.abc import Callable, Mapping

from django.db import IntegrityError, transaction
from django.utils import timezone

from config.schemas import InvalidRequest

from .models import ApiIdempotencyKey

HEADER = "Idempotency-Key"


def fingerprint(parameters: Mapping) -> str:
    """A stable hash of request parameters (key order does not matter)."""
    canonical = json.dumps(parameters, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def earlier_run(*, user, workflow, key: str, parameters: Mapping):
    """The run started by an earlier request with this key, or None.

    Raises ``InvalidRequest`` when the key was used with other parameters.
    """
    cutoff = timezone.now() - ApiIdempotencyKey.LIFETIME
    row = (
        ApiIdempotencyKey.objects.select_related("run__workflow", "run__started_by")
        .filter(user=user, workflow=workflow, key=key, created_at__gte=cutoff)
        .first()
    )
    if row is None:
        return None
    if row.request_hash != fingerprint(parameters):
        raise InvalidRequest(
            {HEADER: ["This key was already used with other parameters; use a new key."]},
            detail="Idempotency-Key reused with different parameters.",
        )
    return row.run


def start_once(*, user, workflow, key: str | None, parameters: Mapping, start: Callable):
    """``(run, created)``: ``start()``'s new run, or the run of an earlier request with ``key``.

    ``start`` creates the run; it runs in the same transaction as the key, so
    when a concurrent request with the same key wins, this one's run is rolled
    back and the winner's run is returned.
    """
    if not key:
        return start(), True
    run = earlier_run(user=user, workflow=workflow, key=key, parameters=parameters)
    if run is not None:
        return run, False
    try:
        with transaction.atomic():
            cutoff = timezone.now() - ApiIdempotencyKey.LIFETIME
            ApiIdempotencyKey.objects.filter(user=user, created_at__lt=cutoff).delete()
            run = start()
            ApiIdempotencyKey.objects.create(
                user=user,
                workflow=workflow,
                key=key,
                request_hash=fingerprint(parameters),
                run=run,
            )
    except IntegrityError:
        run = earlier_run(user=user, workflow=workflow, key=key, parameters=parameters)
        if run is None:
            raise
        return run, False
    return run, True
