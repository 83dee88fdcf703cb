"""CRM Manager Activity on the fixed month of simple_crm.tests.activity_data (March 2037, clock frozen at
2037-03-20 12:00), its numbers worked out by hand below.

Per manager (calls: all, inbound, outbound, answered, missed, talk seconds; meetings; e-mails; tasks done;
tasks overdue; deals won; revenue; sales without calls):

    sales1  calls C1, C2, C3 = 3: inbound C1, C3 = 2, outbound C2 = 1, answered C1, C2 = 2, missed C3 = 1,
            talk 120 + 300 + 0 = 420 (C4 is a minute before the period, C5 the first moment after it);
            meetings M1 (03-04) and M3 (03-11, held by sales1 about sales2's deal) = 2 (M2, D4's and D5's
            meetings were done in February); e-mails E1 = 1 (E3 received, E4 about no record, E5 in
            February); tasks done M1, M3 and the call task (03-06) = 3; overdue T4 (due 03-10) = 1 (T5 and
            the open meeting are due 03-25, after now; T6 fell due in February; T7 is cancelled); won D1,
            D6, D8 = 3, revenue 100,000 + 20,000 + 5,000 = 125,000 (D4 was won in February, D5 lost)
    sales2  no calls, no meetings; e-mail E2 (from the shared mailbox, written by sales2) = 1; overdue T8
            (due 03-19 18:00) = 1; won D2 = 1, 50,000 -> won without calls or meetings: flagged
    sales3  calls C6, C7 = 2 (C7 at 23:59 on the period's last day): inbound 1, outbound 1, answered 1,
            missed 1, talk 600; meetings M4..M7 = 4, tasks done 4; e-mail E6 = 1; won D3, D7 = 2,
            30,000 + 10,000 = 40,000
    head_a, head_b: nothing -> rows of zeros (members of the teams in scope)
    C8 has no manager: nobody's call.

Totals: calls 3 + 2 = 5, inbound 2 + 1 = 3, outbound 1 + 1 = 2, answered 2 + 1 = 3, missed 1 + 1 = 2, talk
420 + 600 = 1,020, meetings 2 + 4 = 6, e-mails 3, tasks done 3 + 4 = 7, overdue 1 + 1 = 2, won 3 + 1 + 2 =
6, revenue 125,000 + 50,000 + 40,000 = 215,000, flagged managers 1.
"""

import frappe
from frappe.desk.query_report import run

from simple_crm.report_filters import ReportFilterError
from simple_crm.simple_crm.report.crm_manager_activity.crm_manager_activity import (
	execute,
	sales_without_calls,
)
from simple_crm.tests import factories
from simple_crm.tests.activity_data import NOW, PERIOD, make_activity
from simple_crm.tests.sales_org import SalesOrgRestTestCase, SalesOrgTestCase, email

REPORT = "CRM Manager Activity"
TEAM_A = "Process Test Team A"
TEAM_B = "Process Test Team B"
FIELDS = (
	"calls",
	"calls_inbound",
	"calls_outbound",
	"calls_answered",
	"calls_missed",
	"talk_time",
	"meetings",
	"emails_sent",
	"tasks_done",
	"tasks_overdue",
	"deals_won",
	"revenue",
	"sales_without_calls",
)
ZERO = (0,) * len(FIELDS)
EXPECTED = {
	"sales1": (3, 2, 1, 2, 1, 420, 2, 1, 3, 1, 3, 125_000, 0),
	"sales2": (0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 50_000, 1),
	"sales3": (2, 1, 1, 1, 1, 600, 4, 1, 4, 0, 2, 40_000, 0),
	"head_a": ZERO,
	"head_b": ZERO,
}
TOTAL = (5, 3, 2, 3, 2, 1020, 6, 3, 7, 2, 6, 215_000, 1)
KEYS = ("sales1", "sales2", "sales3", "head_a", "head_b", "director")


def values(row) -> tuple:
	return tuple(row[f] for f in FIELDS)


def by_manager(data) -> dict:
	"""{user key (or the user id of someone else): row values}, the total row apart."""
	assert data[-1].get("is_total"), data[-1]
	keys = {email(k): k for k in KEYS}
	return {keys.get(row["manager"], row["manager"]): values(row) for row in data[:-1]}


class ReportTestCase(SalesOrgTestCase):
	def report(self, user="Administrator", **filters):
		"""The report as the Desk runs it (query_report.run) as `user`, at NOW."""
		frappe.set_user(email(user) if user != "Administrator" else user)
		try:
			with self.freeze_time(NOW):
				return frappe._dict(run(REPORT, filters={**PERIOD, **filters}, ignore_prepared_report=True))
		finally:
			frappe.set_user("Administrator")

	def ours(self, result) -> dict:
		"""Rows of the organisation's users only (a director also lists teams other tests may leave)."""
		rows = by_manager(result.result)
		return {key: row for key, row in rows.items() if key in KEYS}


class TestManagerActivityReport(ReportTestCase):
	def setUp(self):
		super().setUp()
		self.records = make_activity(self)

	def test_numbers_worked_out_by_hand(self):
		result = self.report("director")
		self.assertEqual(self.ours(result), EXPECTED)
		self.assertEqual(values(result.result[-1]), TOTAL)
		self.assertEqual(result.result[-1]["manager_name"], "Total")
		self.assertEqual([c["fieldname"] for c in result.columns], ["manager", "manager_name", *FIELDS])
		# the chart: calls beside won deals, per manager in the rows' order (the total apart)
		labels = result.chart["data"]["labels"]
		self.assertEqual(len(labels), len(result.result) - 1)
		calls, won = result.chart["data"]["datasets"]
		sales1 = labels.index(frappe.utils.get_fullname(email("sales1")))
		sales2 = labels.index(frappe.utils.get_fullname(email("sales2")))
		self.assertEqual((calls["values"][sales1], won["values"][sales1]), (3, 3))
		self.assertEqual((calls["values"][sales2], won["values"][sales2]), (0, 1))
		summary = {s["label"]: s["value"] for s in result.report_summary}
		self.assertEqual(summary["Sales Without Calls"], 1)
		self.assertEqual(summary["Talk Time"], 1020)
		self.assertEqual(summary["Revenue"], 215_000)

		# the drill-down links open the very records each number counts
		links = next(row for row in result.result if row["manager"] == email("sales1"))["links"]
		r = self.records
		for column, expected in (
			("calls", {r["C1"], r["C2"], r["C3"]}),
			("calls_inbound", {r["C1"], r["C3"]}),
			("calls_missed", {r["C3"]}),
			("meetings", {r["M1"], r["M3"]}),
			("tasks_done", {r["M1"], r["M3"], r["call task"]}),
			("tasks_overdue", {r["T4"]}),
			("deals_won", {r["D1"], r["D6"], r["D8"]}),
		):
			with self.freeze_time(NOW):
				self.assertEqual(set(records_behind(links[column], email("sales1"))), expected, column)

		# execute() straight, as other code may call it, gives the same
		with self.freeze_time(NOW):
			_columns, data, _message, _chart, _summary = execute(frappe._dict(PERIOD))
		self.assertEqual(values(data[-1]), TOTAL)

	def test_periods_and_filters(self):
		# nothing happened in January 2036: every manager in scope has a row of zeros, totals zero
		result = self.report("director", from_date="2036-01-01", to_date="2036-01-31")
		self.assertEqual(self.ours(result), dict.fromkeys(EXPECTED, ZERO))
		self.assertEqual(values(result.result[-1]), ZERO)
		# 03-21..03-31 is still ahead at NOW (03-20 12:00): T5 and the open meeting, due 03-25, are not
		# overdue yet; C7 (03-31 23:59, inbound, missed) is the only activity in it
		result = self.report("head_b", from_date="2037-03-21", to_date="2037-03-31")
		self.assertEqual(by_manager(result.result)["sales3"], (1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0))
		result = self.report("sales1", from_date="2037-03-21", to_date="2037-03-31")
		self.assertEqual(by_manager(result.result), {"sales1": ZERO})

		# the manager and team filters
		result = self.report("director", manager=email("sales1"))
		self.assertEqual(by_manager(result.result), {"sales1": EXPECTED["sales1"]})
		self.assertEqual(
			by_manager(self.report("director", team=TEAM_B).result),
			{"head_b": ZERO, "sales3": EXPECTED["sales3"]},
		)
		# a manager outside the team: nobody
		result = self.report("director", manager=email("sales1"), team=TEAM_B)
		self.assertEqual(by_manager(result.result), {})
		self.assertEqual(values(result.result[-1]), ZERO)

	def test_each_role_sees_its_own_rows_and_hostile_filters_do_not_widen(self):
		# a sales manager: their own row only, all of it theirs; a deal of sales2's that sales1 co-manages (and
		# sees in their lists) stays sales2's and makes no row in sales1's report
		deal = frappe.get_doc("CRM Deal", self.records["D2"])
		deal.append("co_managers", {"user": email("sales1")})
		deal.save()
		self.assertEqual(by_manager(self.report("sales1").result), {"sales1": EXPECTED["sales1"]})
		# a head of sales: themself and their team's members, not the other team
		self.assertEqual(
			by_manager(self.report("head_a").result),
			{"head_a": ZERO, "sales1": EXPECTED["sales1"], "sales2": EXPECTED["sales2"]},
		)
		self.assertEqual(
			by_manager(self.report("head_b").result), {"head_b": ZERO, "sales3": EXPECTED["sales3"]}
		)
		# a director: everyone
		self.assertEqual(self.ours(self.report("director")), EXPECTED)

		for user, filters in (
			("sales1", {"manager": email("sales2")}),
			("sales1", {"manager": email("sales3")}),
			("sales1", {"team": TEAM_B}),
			("sales1", {"team": TEAM_A}),  # their own team: still only their own row
			("head_a", {"manager": email("sales3")}),
			("head_a", {"team": TEAM_B}),
		):
			with self.subTest(user=user, filters=filters):
				result = self.report(user, **filters)
				expected = {"sales1": EXPECTED["sales1"]} if filters.get("team") == TEAM_A else {}
				self.assertEqual(by_manager(result.result), expected)
				self.assertEqual(values(result.result[-1]), expected.get("sales1", ZERO))

		# a manager in no team has a row where someone may see their activity
		loner = factories.make_user(factories.unique_email("loner"), roles=("CRM Sales Manager",)).name
		factories.make_call(manager=loner, started_at="2037-03-09 10:00:00", duration=30)
		self.assertEqual(
			by_manager(self.report("director").result)[loner], (1, 1, 0, 1, 0, 30, 0, 0, 0, 0, 0, 0, 0)
		)
		self.assertNotIn(loner, by_manager(self.report("head_a").result))


class TestManagerActivityInput(ReportTestCase):
	def test_bad_filters_are_refused(self):
		for filters in (
			{"from_date": "2037-03-31", "to_date": "2037-03-01"},
			{"from_date": "31.03.2037"},
			{"from_date": ""},
			{"manager": "nobody@example.com"},
			{"team": "No Such Team"},
		):
			with self.subTest(filters=filters), self.assertRaises(ReportFilterError):
				self.report("director", **filters)

	def test_a_user_without_a_crm_role_cannot_run_it(self):
		outsider = factories.make_user(factories.unique_email("outsider")).name
		frappe.set_user(outsider)
		with self.assertRaises(frappe.PermissionError):
			run(REPORT, filters=PERIOD, ignore_prepared_report=True)

	def test_labels_in_russian(self):
		from frappe.translate import clear_cache

		clear_cache()
		previous = frappe.local.lang
		frappe.local.lang = "ru"
		try:
			with self.freeze_time(NOW):
				columns, data, *_rest = execute(frappe._dict(PERIOD))
		finally:
			frappe.local.lang = previous
		labels = {c["fieldname"]: c["label"] for c in columns}
		self.assertEqual(
			(labels["calls_missed"], labels["sales_without_calls"], data[-1]["manager_name"]),
			("Пропущенные звонки", "Продажи без звонков", "Итого"),
		)

	def test_sales_without_calls_needs_neither_calls_nor_meetings(self):
		row = dict.fromkeys(FIELDS, 0)
		self.assertFalse(sales_without_calls(row))  # nothing won
		self.assertTrue(sales_without_calls({**row, "deals_won": 1}))
		self.assertFalse(sales_without_calls({**row, "deals_won": 1, "meetings": 1}))
		self.assertFalse(sales_without_calls({**row, "deals_won": 1, "calls": 1}))


def records_behind(link: str, user: str) -> list[str]:
	"""The names the Desk list opened by `link` shows to `user` (list_view.js reads "[op, value]" as a
	filter with that operator, any other value as "=")."""
	import json
	from urllib.parse import parse_qsl, urlparse

	parsed = urlparse(link)
	slug = parsed.path.removeprefix("/app/")
	doctype = {"crm-call": "CRM Call", "crm-task": "CRM Task", "crm-deal": "CRM Deal"}[slug]
	filters = []
	for field, value in parse_qsl(parsed.query):
		if value.startswith("[") and value.endswith("]"):
			filters.append([field, *json.loads(value)])
		else:
			filters.append([field, "=", value])
	frappe.set_user(user)
	try:
		return frappe.get_list(doctype, filters=filters, pluck="name", limit_page_length=0)
	finally:
		frappe.set_user("Administrator")


class TestManagerActivityOverREST(SalesOrgRestTestCase):
	def test_run_over_rest_as_a_sales_manager(self):
		# committed for the request's own connection: one call of sales1 and one of sales3 in May 2037
		mine = self.track(
			"CRM Call",
			factories.make_call(manager=email("sales1"), started_at="2037-05-04 10:00:00", duration=90).name,
		)
		self.track(
			"CRM Call",
			factories.make_call(manager=email("sales3"), started_at="2037-05-04 11:00:00", duration=45).name,
		)
		filters = {"from_date": "2037-05-01", "to_date": "2037-05-31"}
		r = self.rest_call(
			"frappe.desk.query_report.run",
			{"report_name": REPORT, "filters": filters, "ignore_prepared_report": 1},
			user=email("sales1"),
		)
		self.assertEqual(r.status_code, 200, r.text)
		rows = r.data["result"]
		self.assertEqual([row["manager"] for row in rows[:-1]], [email("sales1")])
		self.assertEqual((rows[0]["calls"], rows[0]["talk_time"]), (1, 90))
		self.assertEqual(rows[-1]["calls"], 1)
		self.assertTrue(frappe.db.exists("CRM Call", mine))
		# asking for the colleague over REST gives nothing of theirs
		r = self.rest_call(
			"frappe.desk.query_report.run",
			{"report_name": REPORT, "filters": {**filters, "manager": email("sales3")}},
			user=email("sales1"),
		)
		self.assertEqual(r.status_code, 200, r.text)
		self.assertEqual(r.data["result"][-1]["calls"], 0)
		self.assertEqual(len(r.data["result"]), 1)
		# bad input: a clear error, nothing else
		r = self.rest_call(
			"frappe.desk.query_report.run",
			{"report_name": REPORT, "filters": {"from_date": "2037-05-31", "to_date": "2037-05-01"}},
			user=email("sales1"),
		)
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("ReportFilterError", r.text)
