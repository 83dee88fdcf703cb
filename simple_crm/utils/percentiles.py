"""Percentiles of a sample given as a histogram (pure Python, no Frappe).

Reports count values in SQL (`GROUP BY days` gives each value with how many records have it) and read the
percentiles from those counts here, so no record is loaded one by one.

The method is linear interpolation between the two nearest ranks: Hyndman and Fan's type 7, the
default of NumPy (`numpy.percentile`), R (`quantile`) and spreadsheets (`PERCENTILE.INC`), and what
MariaDB's `PERCENTILE_CONT` computes. For a sorted sample x[0] <= ... <= x[n-1] and a fraction p:

    h = (n - 1) * p,  k = floor(h)
    P(p) = x[k] + (h - k) * (x[k + 1] - x[k])      (P(p) = x[n - 1] when k = n - 1)

So the median of an even sample is the mean of its two middle values, a sample of one has that value as
every percentile, P(0) is the minimum and P(1) the maximum, and a percentile never leaves the range of the
sample. The nearest-rank method (the value at rank ceil(n * p)) would give a median of 2 for [1, 2, 3, 4]
and a 90th percentile equal to the maximum for every sample of up to nine values; with the few deals a
manager wins in a month the interpolated figure is the steadier one.
"""

import math
from collections.abc import Iterable

__all__ = ["percentile", "percentiles"]


def percentiles(histogram: Iterable[tuple[float, int]], fractions: Iterable[float]) -> list[float | None]:
	"""The percentiles `fractions` (each 0..1) of the sample in which each `value` occurs `count` times.

	`histogram` holds (value, count) pairs in any order; a value may come more than once and counts of
	zero are ignored. An empty sample has no percentiles (None each)."""
	fractions = list(fractions)
	for p in fractions:
		if not 0 <= p <= 1:
			raise ValueError(f"a percentile fraction is between 0 and 1, got {p}")
	merged: dict[float, int] = {}
	for value, count in histogram:
		if count < 0:
			raise ValueError(f"a count cannot be negative, got {count} for {value}")
		if count:
			merged[value] = merged.get(value, 0) + count
	values = sorted(merged)
	n = sum(merged.values())
	if not n:
		return [None for _p in fractions]

	def at_rank(rank: int) -> float:
		"""The value at 0-based `rank` of the sorted sample."""
		seen = 0
		for value in values:
			seen += merged[value]
			if rank < seen:
				return value
		return values[-1]

	result = []
	for p in fractions:
		h = (n - 1) * p
		k = math.floor(h)
		low = at_rank(k)
		high = at_rank(k + 1) if k + 1 < n else low
		result.append(low + (h - k) * (high - low))
	return result


def percentile(histogram: Iterable[tuple[float, int]], fraction: float) -> float | None:
	"""One percentile of a histogram (see `percentiles`)."""
	return percentiles(histogram, [fraction])[0]
