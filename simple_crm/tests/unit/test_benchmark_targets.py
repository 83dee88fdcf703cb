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
