"""The two forms of a row-level condition select the same records, and each query gets the right one.

`simple_crm.permissions.rules.condition_for` builds a user's condition as a semi-join on the names they see
(the set form) or as the rule's parts joined by OR (the row form), by how many records the user sees and
whether the query reads every visible row. A form that selected one record more or less than the other
would make what a user sees depend on how much they own; these tests run both forms over every record of
the site as each role, with records reached through every part of the rules (responsibility, co-managed
deals, open assignments, a contact linked to a client, a lead nobody is responsible for yet).
"""

import frappe
from frappe.desk.form.assign_to import add as assign
from frappe.utils import flt

from simple_crm.constants import ROW_LEVEL_DOCTYPES
from simple_crm.permissions import rules
from simple_crm.permissions.rules import (
	FEW_RECORDS,
	MANY_RECORDS,
	ROW_FORM,
	SET_FORM,
	condition_for,
	visible_count,
	whole_set,
)
from simple_crm.tests import factories
from simple_crm.tests.sales_org import email
from simple_crm.tests.test_permissions import SalesOrgRecordsTestCase

USERS = ("sales1", "sales2", "sales3", "head_a", "head_b")


def selected(doctype: str, condition: str) -> set[str]:
	table = f"`tab{doctype}`"
	return set(frappe.db.sql_list(f"select {table}.`name` from {table} where {condition}"))


def forget_counts() -> None:
	frappe.local.cache.clear()
	for doctype in ROW_LEVEL_DOCTYPES:
		for key in USERS:
			frappe.cache.delete_value(f"simple_crm:visible_count:{doctype}:{email(key)}")


class TestConditionForms(SalesOrgRecordsTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		# sales2 co-manages a deal of sales1's and is assigned a lead of sales3's; nobody works one lead
		deal = frappe.get_doc("CRM Deal", cls.mine["CRM Deal"])
		deal.append("co_managers", {"user": email("sales2")})
		deal.save(ignore_permissions=True)
		assign({"doctype": "CRM Lead", "name": cls.team_b["CRM Lead"], "assign_to": [email("sales2")]})
		cls.unassigned = factories.make_lead(responsible=None).name
		frappe.db.set_value("CRM Lead", cls.unassigned, "responsible", None)
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		frappe.db.rollback()
		for todo in frappe.get_all("ToDo", filters={"reference_name": cls.team_b["CRM Lead"]}, pluck="name"):
			frappe.delete_doc("ToDo", todo, force=True, ignore_permissions=True)
		frappe.delete_doc("CRM Lead", cls.unassigned, force=True, ignore_permissions=True)
		frappe.db.commit()
		forget_counts()
		super().tearDownClass()

	def setUp(self):
		super().setUp()
		forget_counts()

	def test_both_forms_select_the_same_records(self):
		checked = 0
		for key in USERS:
			user = email(key)
			for doctype in ROW_LEVEL_DOCTYPES:
				with self.subTest(user=key, doctype=doctype):
					as_set = selected(doctype, condition_for(doctype, user, form=SET_FORM))
					as_rows = selected(doctype, condition_for(doctype, user, form=ROW_FORM))
					self.assertEqual(as_set, as_rows)
					checked += len(as_set)
		self.assertGreater(checked, 0)

	def test_the_forms_see_what_the_rules_say(self):
		for form in (SET_FORM, ROW_FORM):
			with self.subTest(form=form):
				deals = selected("CRM Deal", condition_for("CRM Deal", email("sales2"), form=form))
				self.assertIn(self.mine["CRM Deal"], deals)  # co-managed
				self.assertNotIn(self.team_b["CRM Deal"], deals)
				leads = selected("CRM Lead", condition_for("CRM Lead", email("sales2"), form=form))
				self.assertIn(self.team_b["CRM Lead"], leads)  # assigned
				self.assertNotIn(self.mine["CRM Lead"], leads)
				head_leads = selected("CRM Lead", condition_for("CRM Lead", email("head_a"), form=form))
				self.assertIn(self.unassigned, head_leads)  # to distribute
				self.assertIn(self.mine["CRM Lead"], head_leads)
				# sales3's lead is assigned to a member of team A: its head sees it too
				self.assertIn(self.team_b["CRM Lead"], head_leads)
				head_b_deals = selected("CRM Deal", condition_for("CRM Deal", email("head_b"), form=form))
				self.assertIn(self.team_b["CRM Deal"], head_b_deals)
				self.assertNotIn(self.mine["CRM Deal"], head_b_deals)
				self.assertNotIn(
					self.unassigned,
					selected("CRM Lead", condition_for("CRM Lead", email("sales1"), form=form)),
				)

	def test_visible_count_adds_up_the_parts(self):
		# each part counted on its own: a record reached by two parts counts twice (an upper bound is all
		# the choice of form needs)
		user = email("sales2")
		expected = (
			frappe.db.count("CRM Deal", {"responsible": user})
			+ frappe.db.count("CRM Deal Manager", {"user": user, "parenttype": "CRM Deal"})
			+ frappe.db.count("ToDo", {"allocated_to": user, "reference_type": "CRM Deal", "status": "Open"})
		)
		self.assertGreaterEqual(expected, 1)
		self.assertEqual(visible_count("CRM Deal", user, rules.condition_parts("CRM Deal", user)), expected)
		# kept for the request and in the cache
		self.assertEqual(
			frappe.cache.get_value(f"simple_crm:visible_count:CRM Deal:{user}", expires=True), expected
		)

	def test_a_page_of_a_user_who_sees_many_records_tests_the_parts_row_by_row(self):
		user = email("head_a")
		key = f"simple_crm:visible_count:CRM Deal:{user}"
		cases = (
			(FEW_RECORDS, False, SET_FORM),
			(FEW_RECORDS + 1, False, ROW_FORM),
			(FEW_RECORDS + 1, True, SET_FORM),
			(MANY_RECORDS, True, SET_FORM),
			(MANY_RECORDS + 1, True, ROW_FORM),
		)
		for count, whole, expected in cases:
			with self.subTest(count=count, whole=whole):
				frappe.local.cache.clear()
				frappe.cache.set_value(key, count)
				if whole:
					with whole_set():
						condition = condition_for("CRM Deal", user)
				else:
					condition = condition_for("CRM Deal", user)
				self.assertEqual("`visible`" in condition, expected == SET_FORM, condition)

	def test_a_count_and_a_list_over_rest_agree(self):
		# the count request builds the set form (it reads the whole set), the list request the form for a page
		user = email("sales1")
		count = self.rest_call("frappe.client.get_count", {"doctype": "CRM Deal"}, user)
		self.assertEqual(count.status_code, 200, count.text[:300])
		listed = self.rest_list("CRM Deal", user, limit_page_length=0)
		self.assertEqual(listed.status_code, 200, listed.text[:300])
		names = {row["name"] for row in listed.data}
		self.assertEqual(count.data, len(names))
		self.assertIn(self.mine["CRM Deal"], names)
		self.assertNotIn(self.team_b["CRM Deal"], names)

	def test_the_workspace_counts_as_a_list_counts(self):
		"""A dashboard chart's groups and a number card's figure count the whole set, as the list's count does
		(rules.WHOLE_SET_METHODS): with as many visible records as make a page test the parts row by row, they
		take the set form, and give what the user's list gives."""
		user = email("sales1")
		for doctype in ("CRM Deal", "CRM Lead"):
			frappe.cache.set_value(f"simple_crm:visible_count:{doctype}:{user}", FEW_RECORDS + 1)
		with self.set_user(user):
			open_deals = frappe.get_list(
				"CRM Deal", filters={"stage_type": "Open"}, fields=["stage", "amount"], limit_page_length=0
			)
		self.assertTrue(open_deals)
		by_stage = {}
		for deal in open_deals:
			by_stage[deal.stage] = by_stage.get(deal.stage, 0) + 1
		chart = self.rest_call(
			"frappe.desk.doctype.dashboard_chart.dashboard_chart.get",
			{"chart_name": "Deals by Stage", "refresh": 1},
			user,
		)
		self.assertEqual(chart.status_code, 200, chart.text[:300])
		drawn = dict(zip(chart.data["labels"], chart.data["datasets"][0]["values"], strict=True))
		self.assertEqual(sum(drawn.values()), len(open_deals))
		self.assertEqual(len(drawn), len(by_stage))
		card = frappe.get_doc("Number Card", "Open Deals Amount").as_dict(convert_dates_to_str=True)
		figure = self.rest_call(
			"frappe.desk.doctype.number_card.number_card.get_result",
			{"doc": frappe.as_json(card), "filters": card["filters_json"]},
			user,
		)
		self.assertEqual(figure.status_code, 200, figure.text[:300])
		self.assertEqual(flt(figure.data, 2), flt(sum(flt(d.amount) for d in open_deals), 2))

	def test_the_workspace_requests_count_the_whole_set(self):
		"""The requests of the workspace's charts and cards build their conditions as a list's count does; a
		list's page does not."""
		counting = (
			"frappe.desk.reportview.get_count",
			"frappe.desk.doctype.dashboard_chart.dashboard_chart.get",
			"frappe.desk.doctype.number_card.number_card.get_result",
			"frappe.desk.doctype.number_card.number_card.get_percentage_difference",
		)
		try:
			for cmd in (*counting, "frappe.desk.reportview.get"):
				frappe.form_dict.cmd = cmd
				rules.before_request()
				self.assertEqual(bool(frappe.local.flags.crm_whole_set), cmd in counting, cmd)
		finally:
			frappe.form_dict.pop("cmd", None)
			frappe.local.flags.crm_whole_set = None
