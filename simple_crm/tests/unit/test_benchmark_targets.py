"""The benchmark says which figures miss their targets, and by how much (simple_crm.benchmarks.suite)."""

from simple_crm.benchmarks.suite import missed_targets


def row(operation, median_ms=10.0, ratio_median=1.0, ratio_p95=1.0):
	return {
		"operation": operation,
		"user": "director",
		"clients": 1,
		"value": {"median_ms": median_ms, "p95_ms": median_ms},
		"ratio_median": ratio_median,
		"ratio_p95": ratio_p95,
	}


def test_a_figure_within_its_target_misses_nothing():
	assert missed_targets(row("report Sales Funnel", median_ms=1999.9)) == []
	assert missed_targets(row("REST insert CRM Lead", ratio_median=1.3, ratio_p95=2.0)) == []
	assert missed_targets(row("desk workspace", median_ms=90_000)) == []  # no target


def test_a_missed_target_says_by_how_much():
	assert missed_targets(row("report Lead Conversion", median_ms=2_440)) == [
		"median 2,440 ms, target 2,000 ms: over by 440 ms (1.22x)"
	]
	assert missed_targets(row("import 10,000 leads (whole file)", median_ms=79_876.8)) == [
		"median 79,877 ms, target 60,000 ms: over by 19,877 ms (1.33x)"
	]
	assert missed_targets(row("REST insert CRM Lead", ratio_median=1.62, ratio_p95=2.5)) == [
		"median 1.62x the floor's, target 1.3x: over by 0.32x",
		"p95 2.50x the floor's, target 2.0x: over by 0.50x",
	]
	assert missed_targets(row("link search CRM Lead by phone", median_ms=130)) == [
		"median 130 ms, target 100 ms: over by 30 ms (1.30x)"
	]


def test_a_figure_not_measured_misses_nothing():
	assert missed_targets(row("report Duplicates", median_ms=None)) == []
	assert missed_targets(row("REST insert CRM Lead", ratio_median=None, ratio_p95=None)) == []


def throughput_row(value_req_s, floor_req_s):
	return {
		"operation": "web-to-lead inquiry",
		"user": "Guest",
		"clients": 4,
		"value": {"median_ms": 83.0, "p95_ms": 101.0, "req_s": value_req_s},
		"floor": {"median_ms": 34.0, "p95_ms": 39.0, "req_s": floor_req_s},
		"ratio_median": 2.4,
		"ratio_p95": 2.6,
	}


def test_website_inquiries_are_held_to_the_floors_throughput_not_its_latency():
	assert missed_targets(throughput_row(117.0, 116.5)) == []
	assert missed_targets(throughput_row(46.8, 116.5)) == [
		"46.8 requests a second, the floor's 116.5: short by 69.7 (0.40x)"
	]
	assert missed_targets(throughput_row(None, 116.5)) == []


def test_the_duplicate_lookup_is_held_to_five_milliseconds():
	assert missed_targets(row("duplicate lookup (phone and e-mail)", median_ms=0.3)) == []
	assert missed_targets(row("duplicate lookup (phone and e-mail)", median_ms=6.0)) == [
		"median 6 ms, target 5 ms: over by 1 ms (1.20x)"
	]


def test_the_handling_of_inquiries_by_their_job_has_no_target():
	handled = {**throughput_row(40.0, 500.0), "operation": "inquiry handled by its job", "user": "system"}
	handled["ratio_median"] = handled["ratio_p95"] = 11.0
	assert missed_targets(handled) == []
