"""Histograms counted by the database: one filtered COUNT per bucket, in the same scan."""

from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.utils import floatToGoString


@dataclass(frozen=True)
class Buckets:
    """Upper bounds (seconds) of a histogram of ``end - start`` between two columns."""

    bounds: tuple[float, ...]
    # The bounds as the `le` label says them ("1.0", as prometheus-client's own histograms).
    les: tuple[str, ...] = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "les", tuple(floatToGoString(b) for b in self.bounds))

    def aggregates(self, start: str, end: str, *, only: Q) -> dict:
        """``Count``/``Sum`` keyword arguments for ``annotate``/``aggregate``, over ``only``."""
        measured = only & Q(**{f"{start}__isnull": False, f"{end}__isnull": False})
        counts = {
            f"le_{index}": Count(
                "pk", filter=measured & Q(**{f"{end}__lte": F(start) + timedelta(seconds=bound)})
            )
            for index, bound in enumerate(self.bounds)
        }
        return {
            **counts,
            "observed": Count("pk", filter=measured),
            "observed_seconds": Sum(
                ExpressionWrapper(F(end) - F(start), output_field=DurationField()),
                filter=measured,
            ),
        }

    def empty(self) -> dict:
        return {**{f"le_{i}": 0 for i in range(len(self.bounds))}, "observed": 0}

    def add(self, total: dict, row: dict) -> None:
        """Add one row's counts (and seconds) into ``total``."""
        for key in (*(f"le_{i}" for i in range(len(self.bounds))), "observed"):
            total[key] = total.get(key, 0) + (row[key] or 0)
        seconds = row.get("observed_seconds") or timedelta(0)
        total["observed_seconds"] = total.get("observed_seconds", timedelta(0)) + seconds

    def sample(self, row: dict) -> tuple[list[tuple[str, float]], float]:
        """Cumulative buckets (the bounds, then +Inf) and the sum, as prometheus-client takes."""
        buckets = [(le, row[f"le_{i}"]) for i, le in enumerate(self.les)]
        buckets.append(("+Inf", row["observed"]))
        seconds = row.get("observed_seconds") or timedelta(0)
        return buckets, seconds.total_seconds()

    def family(self, name: str, documentation: str, labels: list[str], rows: dict):
        """A histogram family from ``{label values: counts}``."""
        family = HistogramMetricFamily(name, documentation, labels=labels)
        for label_values, row in sorted(rows.items()):
            buckets, total = self.sample(row)
            family.add_metric(list(label_values), buckets, total)
        return family


# Seconds: task attempts and runs (from under a second to hours); scheduler lag (sub-second).
DURATION_BUCKETS = Buckets((0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600))
LAG_BUCKETS = Buckets((0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300))
