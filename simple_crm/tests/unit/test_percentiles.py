"""Unit tests for simple_crm.utils.percentiles (plain pytest, no Frappe).

Every expected value is worked out by hand with the formula of the module: for the sorted sample
x[0..n-1], h = (n - 1) * p, k = floor(h), P = x[k] + (h - k) * (x[k + 1] - x[k]).
"""

import pytest

from simple_crm.utils.percentiles import percentile, percentiles


def sample(*values):
	"""A histogram of the values, one count each (repeats allowed)."""
	return [(v, 1) for v in values]


def test_empty_sample_has_no_percentiles():
	assert percentiles([], [0.5, 0.9]) == [None, None]
	assert percentile([(3, 0)], 0.5) is None  # counts of zero are no sample


def test_one_value_is_every_percentile():
	# n = 1: h = 0 for every p
	assert percentiles(sample(7), [0, 0.5, 0.9, 1]) == [7, 7, 7, 7]


def test_two_values():
	# n = 2: median h = 0.5 -> 10 + 0.5 * (20 - 10) = 15; p90 h = 0.9 -> 10 + 0.9 * 10 = 19
	median, p90 = percentiles(sample(20, 10), [0.5, 0.9])
	assert median == 15
	assert p90 == pytest.approx(19)


def test_odd_and_even_medians():
	# n = 5: h = 2 -> the middle value 3
	assert percentile(sample(5, 1, 4, 2, 3), 0.5) == 3
	# n = 4: h = 1.5 -> 2 + 0.5 * (3 - 2) = 2.5 (nearest rank would say 2)
	assert percentile(sample(4, 3, 2, 1), 0.5) == 2.5


def test_p90_of_small_samples():
	# n = 5, [1, 2, 3, 4, 5]: h = 3.6 -> 4 + 0.6 * (5 - 4) = 4.6 (nearest rank: the maximum, 5)
	assert percentile(sample(1, 2, 3, 4, 5), 0.9) == pytest.approx(4.6)
	# n = 10, [1..10]: h = 8.1 -> 9 + 0.1 * (10 - 9) = 9.1
	assert percentile(sample(*range(1, 11)), 0.9) == pytest.approx(9.1)
	# n = 3, [0, 10, 40]: h = 1.8 -> 10 + 0.8 * (40 - 10) = 34
	assert percentile(sample(40, 0, 10), 0.9) == pytest.approx(34)


def test_histogram_counts_are_repeats():
	# [2, 2, 2, 9] as counts: n = 4; median h = 1.5 -> x1 = 2, x2 = 2 -> 2; p90 h = 2.7 -> 2 + 0.7 * 7 = 6.9
	histogram = [(9, 1), (2, 3)]
	assert percentiles(histogram, [0.5, 0.9]) == [2, pytest.approx(6.9)]
	# the same value given twice adds up: [(2, 1), (2, 2), (9, 1)] is the same sample
	assert percentiles([(2, 1), (9, 1), (2, 2)], [0.5, 0.9]) == [2, pytest.approx(6.9)]


def test_bounds_are_minimum_and_maximum():
	assert percentiles(sample(3, 8, 1), [0, 1]) == [1, 8]


def test_never_leaves_the_sample_range():
	for n in range(1, 30):
		values = [v * v for v in range(n)]
		for p in (0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1):
			value = percentile(sample(*values), p)
			assert min(values) <= value <= max(values)


def test_bad_input():
	with pytest.raises(ValueError):
		percentiles(sample(1), [1.5])
	with pytest.raises(ValueError):
		percentiles(sample(1), [-0.1])
	with pytest.raises(ValueError):
		percentiles([(1, -2)], [0.5])
