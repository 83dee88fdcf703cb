"""CRM Overdue Tasks: a fixed set of tasks due in early 1990 whose numbers are worked out by hand below.

The report runs with the clock frozen at 1990-03-15 12:00 (days overdue are calendar days), so no task of
this site but these is overdue then:

    sales1 (team A)  T1  Open         Call     due 1990-03-01 09:00   14 days (about sales1's lead)
                     T2  In Progress  Meeting  due 1990-03-14 18:00   1 day
                     T3  Open         Email    due 1990-03-15 11:59   0 days
                     T4  Open         Call     due 1990-03-15 12:00   not overdue: due this very moment
                     T5  Done         Call     due 1990-02-01         not open
                     T6  Cancelled    Call     due 1990-02-01         not open
                     T7  Open         Call     due 1990-03-20         not due yet
    sales2 (team A)  T8  Open         Other    due 1990-02-10 10:00   33 days (18 left of February + 15)
    sales3 (team B)  T9  Open         Call     due 1990-03-10 08:00   5 days (about sales3's lead)
                     T10 Open         Meeting  due 1990-03-12 10:00   3 days; its author is sales1
    nobody           T11 Open         Other    due 1990-03-05 10:00   10 days (made by the Administrator)
"""

import zlib
from datetime import datetime
from unittest.mock import patch

import frappe
from frappe.desk.query_report import run as run_report

from simple_crm.report_filters import ReportFilterError
from simple_crm.simple_crm.report.crm_overdue_tasks import crm_overdue_tasks
from simple_crm.simple_crm.report.crm_overdue_tasks.crm_overdue_tasks import execute
from simple_crm.tests import factories
from simple_crm.tests.sales_org import SalesOrgRestTestCase, SalesOrgTestCase, email

REPORT = "CRM Overdue Tasks"
NOW = datetime(1990, 3, 15, 12, 0)


def make_task(key, assigned, due, status="Open", task_type="Call", author=None, **kwargs):
	values = {
		"subject": f"Overdue report {key}",
		"due_on": due,
		"status": status,
		"task_type": task_type,
		**kwargs,
	}
	if assigned:
		values["assigned_to"] = email(assigned)
	values["author"] = email(author or assigned) if (author or assigned) else "Administrator"
	if status == "Done":
		values["result"] = "Done in time"
	return factories.make_task(**values)


def make_tasks():
	lead = factories.make_lead(responsible=email("sales1"))
	tasks = {
		"T1": make_task(
			"T1", "sales1", datetime(1990, 3, 1, 9, 0), reference_doctype="CRM Lead", reference_name=lead.name
		),
		"T2": make_task("T2", "sales1", datetime(1990, 3, 14, 18, 0), "In Progress", "Meeting"),
		"T3": make_task("T3", "sales1", datetime(1990, 3, 15, 11, 59), task_type="Email"),
		"T4": make_task("T4", "sales1", datetime(1990, 3, 15, 12, 0)),
		"T5": make_task("T5", "sales1", datetime(1990, 2, 1, 9, 0), "Done"),
		"T6": make_task("T6", "sales1", datetime(1990, 2, 1, 9, 0), "Cancelled"),
		"T7": make_task("T7", "sales1", datetime(1990, 3, 20, 9, 0)),
		"T8": make_task("T8", "sales2", datetime(1990, 2, 10, 10, 0), task_type="Other"),
		"T9": make_task(
			"T9",
			"sales3",
			datetime(1990, 3, 10, 8, 0),
			reference_doctype="CRM Lead",
			reference_name=factories.make_lead(responsible=email("sales3")).name,
		),
		"T10": make_task("T10", "sales3", datetime(1990, 3, 12, 10, 0), task_type="Meeting", author="sales1"),
		"T11": make_task("T11", None, datetime(1990, 3, 5, 10, 0), task_type="Other"),
	}
	return lead, tasks


class OverdueTasksCase:
	def key_of(self, row) -> str | None:
		for key, task in self.tasks.items():
			if row.get("task") == task.name:
				return key
		return None

	def manager_key(self, manager) -> str | None:
		return next((k for k in ("sales1", "sales2", "sales3") if manager == email(k)), manager)

	def shape(self, data) -> list[tuple]:
		"""Group rows as (manager, overdue tasks, days overdue of the oldest), each followed by its task
		rows as (task key, days overdue)."""
		shaped = []
		for row in data:
			if row["indent"] == 0:
				shaped.append((self.manager_key(row["manager"]), row["overdue_tasks"], row["days_overdue"]))
			else:
				shaped.append((self.key_of(row), row["days_overdue"]))
		return shaped


# the director's report: managers by their oldest task, each one's tasks oldest first
SALES2 = [("sales2", 1, 33), ("T8", 33)]
SALES1 = [("sales1", 3, 14), ("T1", 14), ("T2", 1), ("T3", 0)]
NOBODY = [(None, 1, 10), ("T11", 10)]
SALES3 = [("sales3", 2, 5), ("T9", 5), ("T10", 3)]


class TestOverdueTasksReport(OverdueTasksCase, SalesOrgTestCase):
	def setUp(self):
		super().setUp()
		self.lead, self.tasks = make_tasks()

	def report(self, user="director", **filters):
		frappe.set_user(email(user))
		try:
			with self.freeze_time(NOW):
				return execute(frappe._dict(filters))
		finally:
			frappe.set_user("Administrator")

	def test_overdue_tasks_per_manager(self):
		columns, data, message, chart, summary = self.report()
		self.assertEqual(self.shape(data), [*SALES2, *SALES1, *NOBODY, *SALES3])
		self.assertIsNone(message)
		# 1 + 3 + 1 + 2 = 7 overdue, 3 managers (nobody is no manager), the oldest 33 days overdue
		self.assertEqual([s["value"] for s in summary], [7, 3, 33])
		# most overdue first; equal counts by name ("Not assigned" before "Sales2")
		self.assertEqual(chart["data"]["labels"], ["Sales1", "Sales3", "Not assigned", "Sales2"])
		self.assertEqual(chart["data"]["datasets"][0]["values"], [3, 2, 1, 1])

		t1 = next(row for row in data if row.get("task") == self.tasks["T1"].name)
		self.assertEqual(
			(t1["title"], t1["task_type"], t1["reference_doctype"], t1["reference_name"], t1["due_on"]),
			("Overdue report T1", "Call", "CRM Lead", self.lead.name, datetime(1990, 3, 1, 9, 0)),
		)
		sales1 = next(row for row in data if row["indent"] == 0 and row["manager"] == email("sales1"))
		self.assertEqual((sales1["title"], sales1["due_on"]), ("Sales1", datetime(1990, 3, 1, 9, 0)))
		self.assertTrue(sales1["tasks_link"].startswith("/app/crm-task?assigned_to="))
		nobody = next(row for row in data if row["indent"] == 0 and not row["manager"])
		self.assertEqual(nobody["title"], "Not assigned")
		self.assertEqual(
			[c["fieldname"] for c in columns],
			[
				"title",
				"task",
				"manager",
				"task_type",
				"priority",
				"reference_doctype",
				"reference_name",
				"due_on",
				"days_overdue",
				"overdue_tasks",
			],
		)

	def test_filters(self):
		self.assertEqual(self.shape(self.report(team="Process Test Team A")[1]), [*SALES2, *SALES1])
		self.assertEqual(self.shape(self.report(manager=email("sales3"))[1]), SALES3)
		# a manager who is not in the team asked for: nothing
		self.assertEqual(self.report(manager=email("sales3"), team="Process Test Team A")[1], [])
		self.assertEqual(
			self.shape(self.report(task_type="Call")[1]),
			[("sales1", 1, 14), ("T1", 14), ("sales3", 1, 5), ("T9", 5)],
		)
		# as of 1990-03-01 09:00:01: T8 (19 days: 18 left of February + 1) and T1, due a second before
		self.assertEqual(
			self.shape(self.report(as_of="1990-03-01 09:00:01")[1]),
			[("sales2", 1, 19), ("T8", 19), ("sales1", 1, 0), ("T1", 0)],
		)

	def test_nothing_overdue_and_a_manager_without_tasks(self):
		_columns, data, _message, chart, summary = self.report(as_of="1990-01-01 00:00:00")
		self.assertEqual(data, [])
		self.assertIsNone(chart)
		self.assertEqual([s["value"] for s in summary], [0, 0, 0])
		self.assertEqual(self.report(manager=email("head_a"))[1], [])

	def test_listed_tasks_per_manager_are_bounded(self):
		with patch.object(crm_overdue_tasks, "TASKS_PER_MANAGER", 2):
			_columns, data, message, *_rest = self.report(manager=email("sales1"))
		# the row still counts all three; the two oldest are listed
		self.assertEqual(self.shape(data), [("sales1", 3, 14), ("T1", 14), ("T2", 1)])
		self.assertIn("2", message)

	def test_managers_whose_names_share_a_crc32_stay_apart(self):
		# the report groups by the CRC32 of the manager's name; these two names have the same one
		names = ("report.crc.29685295@example.com", "report.crc.32060020@example.com")
		self.assertEqual(zlib.crc32(names[0].encode()), zlib.crc32(names[1].encode()))
		for name in names:
			factories.make_user(name, roles=("CRM Sales Manager",))
		made = {
			"A1": factories.make_task(subject="A1", assigned_to=names[0], due_on=datetime(1990, 3, 1, 9, 0)),
			"A2": factories.make_task(subject="A2", assigned_to=names[0], due_on=datetime(1990, 3, 2, 9, 0)),
			"B1": factories.make_task(subject="B1", assigned_to=names[1], due_on=datetime(1990, 3, 3, 9, 0)),
		}
		self.tasks.update(made)
		with patch.object(crm_overdue_tasks, "TASKS_PER_MANAGER", 1):
			data = self.report()[1]
		ours = [row for row in data if row["manager"] in names]
		# each its own group with its own count, and its own oldest task listed
		self.assertEqual(self.shape(ours), [(names[0], 2, 14), ("A1", 14), (names[1], 1, 12), ("B1", 12)])

	def test_bad_filters_are_refused(self):
		for filters in (
			{"as_of": "yesterday"},
			{"as_of": "1990-02-30 10:00:00"},
			{"manager": "nobody@example.com"},
			{"team": "No Such Team"},
			{"task_type": "Dance"},
		):
			with self.subTest(filters=filters), self.assertRaises(ReportFilterError):
				self.report(**filters)

	def test_each_role_sees_its_own_rows(self):
		# a sales manager: their own tasks and T10, which they wrote for sales3
		sales1_view = [*SALES1, ("sales3", 1, 3), ("T10", 3)]
		self.assertEqual(self.shape(self.report("sales1")[1]), sales1_view)
		# naming a colleague gives nothing of theirs beyond what they may see anyway
		self.assertEqual(self.report("sales1", manager=email("sales2"))[1], [])
		self.assertEqual(
			self.shape(self.report("sales1", manager=email("sales3"))[1]), [("sales3", 1, 3), ("T10", 3)]
		)
		self.assertEqual(
			self.shape(self.report("sales1", team="Process Test Team B")[1]), [("sales3", 1, 3), ("T10", 3)]
		)

		# the head of team A: the team's tasks and T10 (its author is in the team); not T9 nor T11
		head_a_view = [*SALES2, *SALES1, ("sales3", 1, 3), ("T10", 3)]
		self.assertEqual(self.shape(self.report("head_a")[1]), head_a_view)
		self.assertEqual(
			self.shape(self.report("head_a", manager=email("sales3"))[1]), [("sales3", 1, 3), ("T10", 3)]
		)

		# the head of team B: sales3's tasks
		self.assertEqual(self.shape(self.report("head_b")[1]), SALES3)
		self.assertEqual(self.report("head_b", team="Process Test Team A")[1], [])

		# the director: everything
		self.assertEqual(self.shape(self.report("director")[1]), [*SALES2, *SALES1, *NOBODY, *SALES3])

	def test_run_as_the_desk_runs_it(self):
		frappe.set_user(email("head_b"))
		with self.freeze_time(NOW):
			result = run_report(REPORT, filters={})
		frappe.set_user("Administrator")
		self.assertEqual(self.shape(result["result"]), SALES3)

		outsider = factories.make_user(factories.unique_email("outsider"), roles=("Blogger",))
		frappe.set_user(outsider.name)
		with self.assertRaises(frappe.PermissionError):
			run_report(REPORT, filters={})


class TestOverdueTasksReportOverREST(OverdueTasksCase, SalesOrgRestTestCase):
	def test_sales_manager_over_rest(self):
		lead = factories.make_lead(responsible=email("sales3"))
		self.track("CRM Lead", lead.name)
		self.tasks = {
			"R1": make_task(
				"R1",
				"sales3",
				datetime(1990, 3, 10, 8, 0),
				reference_doctype="CRM Lead",
				reference_name=lead.name,
			),
			"R2": make_task("R2", "sales2", datetime(1990, 3, 9, 8, 0)),
		}
		for task in self.tasks.values():
			self._cleanup.append(("CRM Task", task.name))  # before the lead it is about
		filters = {"as_of": "1990-03-15 12:00:00"}

		r = self.rest_call(
			"frappe.desk.query_report.run",
			{"report_name": REPORT, "filters": frappe.as_json(filters)},
			user=email("sales3"),
		)
		self.assertEqual(r.status_code, 200, r.text)
		rows = [frappe._dict(row) for row in r.data["result"]]
		mine = [row for row in rows if row.get("task") in {t.name for t in self.tasks.values()}]
		self.assertEqual([(self.key_of(row), row["days_overdue"]) for row in mine], [("R1", 5)])
		self.assertEqual({row["manager"] for row in rows}, {email("sales3")})

		r = self.rest_call(
			"frappe.desk.query_report.run",
			{"report_name": REPORT, "filters": frappe.as_json({**filters, "manager": email("sales2")})},
			user=email("sales3"),
		)
		self.assertEqual(r.status_code, 200, r.text)
		self.assertEqual(r.data["result"], [])

		r = self.rest_call(
			"frappe.desk.query_report.run",
			{"report_name": REPORT, "filters": frappe.as_json({"as_of": "soon"})},
			user=email("sales3"),
		)
		self.assertEqual(r.status_code, 417, r.text)
