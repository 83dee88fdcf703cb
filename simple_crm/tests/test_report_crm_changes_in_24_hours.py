"""CRM Changes in 24 Hours: a fixed day in June 2037, clock frozen at NOW = 2037-06-10 09:00, so the default
period is 2037-06-09 09:00 (included) to 2037-06-10 09:00 (not included). What is made:

    leads    L1 sales1 received 06-09 10:00         -> New Lead
             L2 sales3 received 06-10 08:59         -> New Lead
             L3 sales2 received 06-09 08:59         (a minute before the period)
             L4 sales1 received 06-10 09:00         (the end of the period is not in it)
    deals    D1 sales1 Qualification -> Proposal at 06-09 12:00      -> Stage Move
             D2 sales2 -> Won at 06-09 15:00, 150,000               -> Deal Won
             D3 sales3 -> Lost at 06-10 07:00, 70,000, Price Too High -> Deal Lost
             D4 sales1 -> Won at 06-09 08:00, 999                   (before the period)
    tasks    T1 sales1 Open, due 06-09 20:00        -> Overdue Task (fell due in the period)
             T2 sales3 Open, due 06-08 10:00        (overdue since before the period: in the summary's
                                                     "All Overdue Tasks" only, as the digest lists it)
             T3 sales2 Open, due 06-10 10:00        (not due yet)
             T4 sales1 Done, due 06-09 12:00        (done)

The director's rows, newest first: L2 (06-10 08:59), D3 lost (07:00), T1 (06-09 20:00), D2 won (15:00),
D1 moved (12:00), L1 (10:00); per type New Lead 2, Deal Won 1, Deal Lost 1, Stage Move 1, Overdue Task 1;
amount won 150,000, lost 70,000.
"""

import datetime

import frappe
from frappe.desk.query_report import run

from simple_crm.automation import digest
from simple_crm.report_filters import ReportFilterError
from simple_crm.tests import factories
from simple_crm.tests.sales_org import SalesOrgRestTestCase, SalesOrgTestCase, email

REPORT = "CRM Changes in 24 Hours"
NOW = datetime.datetime(2037, 6, 10, 9, 0)
TEAM_A = "Process Test Team A"
TEAM_B = "Process Test Team B"
KEYS = ("sales1", "sales2", "sales3", "head_a", "head_b", "director")


def at(day: int, hour: int, minute: int = 0) -> datetime.datetime:
	return datetime.datetime(2037, 6, day, hour, minute)


def who(user: str | None) -> str | None:
	return next((k for k in KEYS if email(k) == user), user)


def events(result) -> list[tuple]:
	"""(type, record, manager key, amount) per row, in the report's order."""
	return [(row["event_type"], row["reference_name"], who(row["manager"]), row["amount"]) for row in result]


class ChangesTestCase(SalesOrgTestCase):
	def report(self, user="Administrator", **filters):
		frappe.set_user(email(user) if user != "Administrator" else user)
		try:
			with self.freeze_time(NOW):
				return frappe._dict(run(REPORT, filters=filters, ignore_prepared_report=True))
		finally:
			frappe.set_user("Administrator")

	def lead(self, manager, received):
		with self.freeze_time(received):
			return factories.make_lead(responsible=email(manager), received_on=received).name

	def deal(self, manager, stage, when, amount=0, **values):
		"""A deal made two days before and moved to `stage` at `when` (the move leaves its version, as outside
		tests)."""
		with self.freeze_time(when - datetime.timedelta(days=2)):
			client = factories.make_client(responsible=email(manager))
			deal = factories.make_deal(client.name, responsible=email(manager), amount=amount)
		with self.freeze_time(when):
			deal.reload()
			deal.stage = stage
			deal.update(values)
			deal.save(ignore_version=False)
		return deal.name

	def task(self, manager, due, **values):
		with self.freeze_time(at(1, 9)):
			return factories.make_task(assigned_to=email(manager), due_on=due, **values).name


class TestChangesReport(ChangesTestCase):
	def setUp(self):
		super().setUp()
		self.r = r = {}
		r["L1"] = self.lead("sales1", at(9, 10))
		r["L2"] = self.lead("sales3", at(10, 8, 59))
		r["L3"] = self.lead("sales2", at(9, 8, 59))
		r["L4"] = self.lead("sales1", at(10, 9))
		r["D1"] = self.deal("sales1", "Proposal", at(9, 12))
		r["D2"] = self.deal("sales2", "Won", at(9, 15), amount=150_000)
		r["D3"] = self.deal("sales3", "Lost", at(10, 7), amount=70_000, lost_reason="Price Too High")
		r["D4"] = self.deal("sales1", "Won", at(9, 8), amount=999)
		r["T1"] = self.task("sales1", at(9, 20))
		r["T2"] = self.task("sales3", at(8, 10))
		r["T3"] = self.task("sales2", at(10, 10))
		r["T4"] = self.task("sales1", at(9, 12), status="Done", task_type="Other")

	def expected(self, *keys) -> list[tuple]:
		r = self.r
		rows = {
			"L2": ("New Lead", r["L2"], "sales3", None),
			"D3": ("Deal Lost", r["D3"], "sales3", 70_000),
			"T1": ("Overdue Task", r["T1"], "sales1", None),
			"D2": ("Deal Won", r["D2"], "sales2", 150_000),
			"D1": ("Stage Move", r["D1"], "sales1", None),
			"L1": ("New Lead", r["L1"], "sales1", None),
		}
		return [rows[k] for k in keys]

	def test_events_worked_out_by_hand(self):
		result = self.report("director")
		self.assertEqual(events(result.result), self.expected("L2", "D3", "T1", "D2", "D1", "L1"))
		rows = {row["reference_name"]: row for row in result.result}
		self.assertEqual(rows[self.r["D3"]]["details"], "Qualification → Lost, Price Too High")
		self.assertEqual(rows[self.r["D1"]]["details"], "Qualification → Proposal")
		self.assertEqual(rows[self.r["D2"]]["time"], at(9, 15))
		self.assertEqual(rows[self.r["T1"]]["time"], at(9, 20))
		self.assertEqual(rows[self.r["L1"]]["reference_doctype"], "CRM Lead")
		self.assertEqual(rows[self.r["D2"]]["manager_name"], frappe.utils.get_fullname(email("sales2")))
		# the chart: events per type
		chart = result.chart["data"]
		self.assertEqual(chart["labels"], ["New Lead", "Deal Won", "Deal Lost", "Stage Move", "Overdue Task"])
		self.assertEqual(chart["datasets"][0]["values"], [2, 1, 1, 1, 1])
		summary = {s["label"]: s["value"] for s in result.report_summary}
		self.assertEqual((summary["Amount Won"], summary["Amount Lost"]), (150_000, 70_000))

	def test_the_same_events_as_the_digest(self):
		# the digest of head_a for the same period lists the same leads and deals as the report run by head_a
		period = digest.Period(start=at(9, 9), end=NOW, now=NOW)
		with self.freeze_time(NOW):
			sections = {
				s.key: s for s in digest.build_sections(email("head_a"), period, digest.stage_moves(period))
			}
		result = self.report("head_a")
		per_type = {
			kind: [row for row in result.result if row["event_type"] == kind]
			for kind in ("New Lead", "Deal Won", "Deal Lost", "Stage Move", "Overdue Task")
		}
		for key, kind in (
			("new_leads", "New Lead"),
			("won_deals", "Deal Won"),
			("lost_deals", "Deal Lost"),
			("stage_moves", "Stage Move"),
		):
			with self.subTest(section=key):
				self.assertEqual(sections[key].count, len(per_type[kind]))
				for row in per_type[kind]:
					self.assertTrue(any(row["reference_name"] in item.url for item in sections[key].items))
		# the digest's overdue tasks: every one overdue now (T1 of team A); the report lists those that fell
		# due in the period and gives the digest's figure in its summary
		summary = {s["label"]: s["value"] for s in result.report_summary}
		self.assertEqual(sections["overdue_tasks"].count, 1)
		self.assertEqual(summary["All Overdue Tasks"], 1)
		self.assertEqual(self.report("head_b").report_summary[-1]["value"], 1)  # T2, overdue since 06-08

	def test_period_end_type_and_manager_filters(self):
		# the 24 hours up to 06-09 12:00: L3 (06-09 08:59), D4 won (08:00), L1 (10:00); D1's move at 12:00 is
		# the end, not in it; T1 is not due yet then, T2 fell due before the period
		result = self.report("director", period_end="2037-06-09 12:00:00")
		self.assertEqual(
			events(result.result),
			[
				("New Lead", self.r["L1"], "sales1", None),
				("New Lead", self.r["L3"], "sales2", None),
				("Deal Won", self.r["D4"], "sales1", 999),
			],
		)
		# a day with nothing
		result = self.report("director", period_end="2037-01-01 00:00:00")
		self.assertEqual(result.result, [])
		self.assertEqual(result.chart["data"]["datasets"][0]["values"], [0, 0, 0, 0, 0])
		# one type
		self.assertEqual(events(self.report("director", event_type="Deal Won").result), self.expected("D2"))
		self.assertEqual(
			events(self.report("director", event_type="New Lead").result), self.expected("L2", "L1")
		)
		# one manager, one team
		self.assertEqual(
			events(self.report("director", manager=email("sales1")).result), self.expected("T1", "D1", "L1")
		)
		self.assertEqual(events(self.report("director", team=TEAM_B).result), self.expected("L2", "D3"))
		self.assertEqual(self.report("director", team=TEAM_B, manager=email("sales1")).result, [])

	def test_each_role_sees_its_own_events_and_hostile_filters_do_not_widen(self):
		self.assertEqual(events(self.report("sales1").result), self.expected("T1", "D1", "L1"))
		self.assertEqual(events(self.report("head_a").result), self.expected("T1", "D2", "D1", "L1"))
		self.assertEqual(events(self.report("head_b").result), self.expected("L2", "D3"))
		self.assertEqual(
			events(self.report("director").result), self.expected("L2", "D3", "T1", "D2", "D1", "L1")
		)
		for user, filters in (
			("sales1", {"manager": email("sales2")}),
			("sales1", {"manager": email("sales3")}),
			("sales1", {"team": TEAM_B}),
			("head_a", {"manager": email("sales3")}),
			("head_a", {"team": TEAM_B}),
			("head_b", {"event_type": "Deal Won"}),
		):
			with self.subTest(user=user, filters=filters):
				self.assertEqual(self.report(user, **filters).result, [])


class TestChangesInput(ChangesTestCase):
	def test_bad_filters_are_refused(self):
		for filters in (
			{"event_type": "Deal Reopened"},
			{"period_end": "tomorrow morning"},
			{"manager": "nobody@example.com"},
			{"team": "No Such Team"},
		):
			with self.subTest(filters=filters), self.assertRaises(ReportFilterError):
				self.report("director", **filters)

	def test_a_user_without_a_crm_role_cannot_run_it(self):
		outsider = factories.make_user(factories.unique_email("outsider")).name
		frappe.set_user(outsider)
		with self.assertRaises(frappe.PermissionError):
			run(REPORT, filters={}, ignore_prepared_report=True)


class TestChangesOverREST(SalesOrgRestTestCase):
	def test_run_over_rest_as_a_head_of_sales(self):
		received = datetime.datetime(2037, 8, 1, 10, 0)
		mine = factories.make_lead(responsible=email("sales1"), received_on=received).name
		self.track("CRM Lead", mine)
		theirs = factories.make_lead(responsible=email("sales3"), received_on=received).name
		self.track("CRM Lead", theirs)
		r = self.rest_call(
			"frappe.desk.query_report.run",
			{
				"report_name": REPORT,
				"filters": {"period_end": "2037-08-01 12:00:00"},
				"ignore_prepared_report": 1,
			},
			user=email("head_a"),
		)
		self.assertEqual(r.status_code, 200, r.text)
		self.assertEqual(
			[(row["event_type"], row["reference_name"]) for row in r.data["result"]], [("New Lead", mine)]
		)
		r = self.rest_call(
			"frappe.desk.query_report.run",
			{"report_name": REPORT, "filters": {"period_end": "2037-08-01 12:00:00", "event_type": "Bogus"}},
			user=email("head_a"),
		)
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("ReportFilterError", r.text)
