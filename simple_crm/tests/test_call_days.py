"""Calls per manager and day (simple_crm.call_days): kept as calls are logged, changed and deleted, equal to
counting the calls afresh, and what a director's manager activity report sums.

The calls are dated in March 2035, which nothing else on the test site is:

	sales1  03-01 10:00  inbound  answered  120 s
	sales1  03-01 23:59  outbound answered   60 s
	sales1  03-02 00:00  inbound  missed      0 s
	sales2  03-01 12:00  outbound answered  300 s
"""

import frappe

from simple_crm import call_days
from simple_crm.tests import factories
from simple_crm.tests.sales_org import SalesOrgTestCase, email

MARCH = ("2035-03-01", "2035-03-31")


def days() -> dict[tuple[str, str], tuple[int, int, int, int]]:
	"""{(manager, day): (calls, inbound, answered, talk time)} of March 2035, rows of no call left out."""
	rows = frappe.db.sql(
		"""select `manager`, `day`, `calls`, `calls_inbound`, `calls_answered`, `talk_time`
		from `tabCRM Call Day` where `day` between %s and %s and `calls` != 0""",
		MARCH,
		as_dict=True,
	)
	return {
		(row.manager, str(row.day)): (row.calls, row.calls_inbound, row.calls_answered, row.talk_time)
		for row in rows
	}


class TestCallDays(SalesOrgTestCase):
	def make_calls(self) -> dict[str, str]:
		calls = {}
		for key, manager, started, direction, status, duration in (
			("a", "sales1", "2035-03-01 10:00:00", "Inbound", "Answered", 120),
			("b", "sales1", "2035-03-01 23:59:00", "Outbound", "Answered", 60),
			("c", "sales1", "2035-03-02 00:00:00", "Inbound", "Missed", 0),
			("d", "sales2", "2035-03-01 12:00:00", "Outbound", "Answered", 300),
		):
			calls[key] = factories.make_call(
				manager=email(manager),
				started_at=started,
				direction=direction,
				call_status=status,
				duration=duration,
			).name
		return calls

	def test_each_call_counts_in_its_managers_day(self):
		self.make_calls()
		expected = {
			(email("sales1"), "2035-03-01"): (2, 1, 2, 180),
			(email("sales1"), "2035-03-02"): (1, 1, 0, 0),
			(email("sales2"), "2035-03-01"): (1, 0, 1, 300),
		}
		self.assertEqual(days(), expected)
		# counting the calls afresh gives the same rows
		call_days.rebuild()
		self.assertEqual(days(), expected)

	def test_a_changed_or_deleted_call_moves_or_leaves(self):
		calls = self.make_calls()
		call = frappe.get_doc("CRM Call", calls["b"])
		# taken by sales2, a minute later (the next day), missed after all
		call.manager = email("sales2")
		call.started_at = "2035-03-02 00:00:30"
		call.direction = "Inbound"
		call.call_status = "Missed"
		call.duration = 0
		call.save()
		expected = {
			(email("sales1"), "2035-03-01"): (1, 1, 1, 120),
			(email("sales1"), "2035-03-02"): (1, 1, 0, 0),
			(email("sales2"), "2035-03-01"): (1, 0, 1, 300),
			(email("sales2"), "2035-03-02"): (1, 1, 0, 0),
		}
		self.assertEqual(days(), expected)
		# a change of what no count holds moves nothing
		call.reload()
		call.topic = "Уточнение заказа"
		call.save()
		self.assertEqual(days(), expected)
		frappe.delete_doc("CRM Call", calls["a"])
		del expected[(email("sales1"), "2035-03-01")]
		self.assertEqual(days(), expected)
		call_days.rebuild()
		self.assertEqual(days(), expected)

	def test_a_call_without_a_manager_or_a_start_counts_nowhere(self):
		for call in (
			frappe._dict(manager=None, started_at="2035-03-05 09:00:00", duration=30),
			frappe._dict(manager=email("sales1"), started_at=None, duration=30),
		):
			call_days.add(call, 1)
		self.assertEqual(days(), {})

	def test_the_directors_report_sums_the_days_as_the_calls_would(self):
		"""A director's manager activity reads the days; a head of sales' the calls themselves: for the same
		team's calls both give the same counts."""
		from simple_crm.simple_crm.report.crm_manager_activity.crm_manager_activity import execute

		self.make_calls()

		def calls_of(user):
			with self.set_user(email(user)):
				rows = execute({"from_date": MARCH[0], "to_date": MARCH[1]})[1]
			return {
				row["manager"]: (
					row["calls"],
					row["calls_inbound"],
					row["calls_outbound"],
					row["calls_answered"],
					row["calls_missed"],
					row["talk_time"],
				)
				for row in rows
				if row.get("manager") in (email("sales1"), email("sales2"))
			}

		expected = {
			email("sales1"): (3, 2, 1, 2, 1, 180),
			email("sales2"): (1, 0, 1, 1, 0, 300),
		}
		self.assertEqual(calls_of("director"), expected)
		self.assertEqual(calls_of("head_a"), expected)
		# one day only, and a day without calls
		with self.set_user(email("director")):
			rows = execute({"from_date": "2035-03-02", "to_date": "2035-03-02"})[1]
			quiet = execute({"from_date": "2035-03-10", "to_date": "2035-03-10"})[1]
		by_manager = {row.get("manager"): row["calls"] for row in rows}
		self.assertEqual((by_manager.get(email("sales1")), by_manager.get(email("sales2"))), (1, 0))
		self.assertFalse([row for row in quiet if row.get("calls")])

	def test_only_a_system_manager_reads_the_days(self):
		"""The days are the report's: the CRM's roles read calls, not these rows, and nobody writes them but
		the calls themselves."""
		self.make_calls()
		for key in ("sales1", "head_a", "director"):
			with self.set_user(email(key)):
				self.assertFalse(frappe.has_permission("CRM Call Day", "read"), key)
				with self.assertRaises(frappe.PermissionError):
					frappe.get_list("CRM Call Day", fields=["manager", "calls"])
		admin = factories.make_user(roles=("System Manager",)).name
		self.assertTrue(frappe.has_permission("CRM Call Day", "read", user=admin))
		for ptype in ("write", "create", "delete"):
			self.assertFalse(frappe.has_permission("CRM Call Day", ptype, user=admin), ptype)
