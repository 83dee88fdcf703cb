"""Hand-over of one manager's open work, and the distribution of new leads.

A sales manager leaves: their head of sales moves the open leads, deals, tasks and clients to a
colleague in one call. Closed work stays where it was, every moved record says so on its timeline, and
a CRM Hand Over record keeps the counts. Only a head of sales (within their team) or a CRM
administrator may do it.
"""

import json

import frappe
from frappe.cache_manager import clear_doctype_map
from frappe.desk.form.assign_to import add as assign
from frappe.utils import get_datetime

from simple_crm.tests import factories, sales_org
from simple_crm.tests.sales_org import SalesOrgRestTestCase, SalesOrgTestCase, email
from simple_crm.tests.utils import CRMTestCase

WEEK = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
HAND_OVER = "simple_crm.api.handover.hand_over"
PREVIEW = "simple_crm.api.handover.preview"


def fresh_value(doctype: str, name: str, field: str):
	frappe.db.rollback()  # see what REST requests committed
	return frappe.db.get_value(doctype, name, field)


def info_comments(doctype: str, name: str) -> list[str]:
	return frappe.get_all(
		"Comment",
		filters={"reference_doctype": doctype, "reference_name": name, "comment_type": "Info"},
		pluck="content",
	)


LEAVER = "process.leaver@example.com"


class TestHandOver(SalesOrgRestTestCase):
	"""The leaver is a sales manager of team A who has nothing but the work made here."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		factories.make_user(LEAVER, roles=("CRM Sales Manager",), first_name="Leaver")
		team = frappe.get_doc("CRM Sales Team", "Process Test Team A")
		team.append("members", {"user": LEAVER})
		team.save()
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		frappe.db.rollback()
		sales_org.delete_teams()  # the leaver is a member
		sales_org.delete_user(LEAVER)
		frappe.db.commit()
		super().tearDownClass()

	def setUp(self):
		super().setUp()
		frappe.set_user("Administrator")
		leaver = LEAVER
		make = self.track_new
		self.client_name = make(factories.make_client(responsible=leaver))
		self.open_deals = [
			make(factories.make_deal(self.client_name, responsible=leaver, amount=100 * i)) for i in (1, 2, 3)
		]
		self.won_deal = make(
			factories.make_deal(self.client_name, responsible=leaver, amount=500, stage="Won")
		)
		self.lost_deal = make(
			factories.make_deal(
				self.client_name, responsible=leaver, stage="Lost", lost_reason="Price Too High"
			)
		)
		self.open_tasks = [make(factories.make_task(assigned_to=leaver)) for _i in range(5)]
		done = factories.make_task(assigned_to=leaver)
		done.status = "Done"
		done.result = "Созвонились"
		done.save()
		self.done_task = make(done)
		self.open_leads = [
			make(factories.make_lead(responsible=leaver)),
			make(factories.make_lead(responsible=leaver, status="In Progress")),
		]
		self.closed_lead = make(
			factories.make_lead(responsible=leaver, status="Disqualified", lost_reason="Spam")
		)
		# sales3's lead, assigned to the leaver as a helper in the Desk
		self.helped_lead = make(factories.make_lead(responsible=email("sales3")))
		assign({"doctype": "CRM Lead", "name": self.helped_lead, "assign_to": [leaver]})
		frappe.db.commit()

	def track_new(self, doc) -> str:
		return self.track(doc.doctype, doc.name)

	def tearDown(self):
		frappe.db.rollback()
		for record in frappe.get_all("CRM Hand Over", filters={"from_user": LEAVER}, pluck="name"):
			frappe.delete_doc("CRM Hand Over", record, force=True, ignore_permissions=True)
		frappe.db.commit()
		super().tearDown()

	def test_head_of_sales_hands_over_within_the_team(self):
		r = self.request("GET", f"{'/api/method/'}{PREVIEW}?from_user={LEAVER}", email("head_a"))
		self.assertEqual(r.status_code, 200, r.text[:300])
		self.assertEqual((r.data["leads"], r.data["deals"], r.data["tasks"], r.data["clients"]), (2, 3, 5, 1))

		r = self.rest_call(
			HAND_OVER,
			{"from_user": LEAVER, "to_user": email("sales2"), "reason": "Увольнение"},
			user=email("head_a"),
		)
		self.assertEqual(r.status_code, 200, r.text[:300])
		self.assertEqual((r.data["leads"], r.data["deals"], r.data["tasks"], r.data["clients"]), (2, 3, 5, 1))

		moved = [
			*(("CRM Deal", name, "responsible") for name in self.open_deals),
			*(("CRM Task", name, "assigned_to") for name in self.open_tasks),
			*(("CRM Lead", name, "responsible") for name in self.open_leads),
			("CRM Client", self.client_name, "responsible"),
		]
		stayed = [
			("CRM Deal", self.won_deal, "responsible"),
			("CRM Deal", self.lost_deal, "responsible"),
			("CRM Task", self.done_task, "assigned_to"),
			("CRM Lead", self.closed_lead, "responsible"),
		]
		for doctype, name, field in moved:
			with self.subTest(moved=f"{doctype} {name}"):
				self.assertEqual(fresh_value(doctype, name, field), email("sales2"))
				notes = info_comments(doctype, name)
				self.assertEqual(len(notes), 1, notes)
				self.assertIn("Handed over from", notes[0])
				self.assertIn("Увольнение", notes[0])
		for doctype, name, field in stayed:
			with self.subTest(stayed=f"{doctype} {name}"):
				self.assertEqual(fresh_value(doctype, name, field), LEAVER)
				self.assertEqual(info_comments(doctype, name), [])

		# the helper's assignment on a colleague's lead moved too; the lead keeps its manager
		self.assertEqual(fresh_value("CRM Lead", self.helped_lead, "responsible"), email("sales3"))
		assigned = json.loads(frappe.db.get_value("CRM Lead", self.helped_lead, "_assign") or "[]")
		self.assertEqual(assigned, [email("sales2")])

		record = frappe.get_doc("CRM Hand Over", r.data["name"])
		self.assertEqual(
			(record.from_user, record.to_user, record.leads_moved, record.deals_moved, record.tasks_moved),
			(LEAVER, email("sales2"), 2, 3, 5),
		)
		self.assertEqual(sorted(json.loads(record.details)["deals"]), sorted(self.open_deals))
		# the new manager now sees the work, the leaver no longer does
		r = self.rest_get("CRM Deal", self.open_deals[0], user=email("sales2"))
		self.assertEqual(r.status_code, 200)
		r = self.rest_get("CRM Deal", self.open_deals[0], user=LEAVER)
		self.assertEqual(r.status_code, 403)
		# the head of sales sees the record of it
		r = self.rest_get("CRM Hand Over", record.name, user=email("head_a"))
		self.assertEqual(r.status_code, 200)

	def test_only_heads_within_their_team_and_administrators(self):
		for key in ("head_b", "sales2", "director"):
			with self.subTest(user=key):
				r = self.rest_call(
					HAND_OVER, {"from_user": LEAVER, "to_user": email("sales2")}, user=email(key)
				)
				self.assertEqual(r.status_code, 403, r.text[:300])
				self.assertEqual(fresh_value("CRM Deal", self.open_deals[0], "responsible"), LEAVER)
				r = self.request("GET", f"/api/method/{PREVIEW}?from_user={LEAVER}", email(key))
				self.assertEqual(r.status_code, 403, r.text[:300])
		# a head cannot hand work out of the team either
		r = self.rest_call(HAND_OVER, {"from_user": LEAVER, "to_user": email("sales3")}, user=email("head_a"))
		self.assertEqual(r.status_code, 403, r.text[:300])
		self.assertIn("your own sales team", r.error_text())
		self.assertFalse(frappe.db.exists("CRM Hand Over", {"from_user": LEAVER}))
		# a CRM administrator may move work across teams
		r = self.rest_call(
			HAND_OVER, {"from_user": LEAVER, "to_user": email("sales3")}, user=email("crm_admin")
		)
		self.assertEqual(r.status_code, 200, r.text[:300])
		self.assertEqual(fresh_value("CRM Deal", self.open_deals[0], "responsible"), email("sales3"))

	def test_bad_requests_change_nothing(self):
		for to_user, message in (
			(LEAVER, "same user"),
			(email("director"), "could not work on what is handed over"),
			("nobody@example.com", "does not exist"),
		):
			with self.subTest(to_user=to_user):
				r = self.rest_call(
					HAND_OVER, {"from_user": LEAVER, "to_user": to_user}, user=email("crm_admin")
				)
				self.assertEqual(r.status_code, 417, r.text[:300])
				self.assertIn(message, r.error_text())
				self.assertEqual(fresh_value("CRM Deal", self.open_deals[0], "responsible"), LEAVER)
		self.assertFalse(frappe.db.exists("CRM Hand Over", {"from_user": LEAVER}))


class TestLeadDistribution(SalesOrgTestCase):
	"""Leads handed out by a head of sales become their assignee's; who may configure Assignment Rules.
	(Assignment Rules run in the new-lead job: tests/test_automation_leads.py.)"""

	def tearDown(self):
		super().tearDown()  # rolls the rule back; forget the cached one
		clear_doctype_map("Assignment Rule", "CRM Lead")
		for name in self.rules:
			frappe.clear_document_cache("Assignment Rule", name)

	def setUp(self):
		super().setUp()
		self.rules = []

	def make_rule(self, rule: str) -> str:
		doc = frappe.get_doc(
			{
				"doctype": "Assignment Rule",
				"name": f"Новые лиды {rule}",
				"document_type": "CRM Lead",
				"priority": 1,
				"assign_condition": "status == 'New' and not responsible",
				"rule": rule,
				"users": [{"user": email("sales1")}, {"user": email("sales2")}],
				"assignment_days": [{"day": day} for day in WEEK],
			}
		)
		frappe.set_user(email("crm_admin"))  # configured by the CRM administrator
		doc.insert()
		frappe.set_user("Administrator")
		self.rules.append(doc.name)
		return doc.name

	def test_assign_to_an_unassigned_lead(self):
		lead = factories.make_lead()
		frappe.set_user(email("head_a"))  # heads see unassigned leads and hand them out in the Desk
		assign({"doctype": "CRM Lead", "name": lead.name, "assign_to": [email("sales2")]})
		frappe.set_user("Administrator")
		self.assertEqual(frappe.db.get_value("CRM Lead", lead.name, "responsible"), email("sales2"))
		# a second helper does not take it over
		assign({"doctype": "CRM Lead", "name": lead.name, "assign_to": [email("sales1")]})
		self.assertEqual(frappe.db.get_value("CRM Lead", lead.name, "responsible"), email("sales2"))

	def test_crm_administrator_configures_crm_rules_only(self):
		frappe.set_user(email("crm_admin"))
		rule = frappe.get_doc(
			{
				"doctype": "Assignment Rule",
				"name": "Чужое правило",
				"document_type": "Note",
				"priority": 1,
				"assign_condition": "1",
				"rule": "Round Robin",
				"users": [{"user": email("sales1")}],
				"assignment_days": [{"day": "Monday"}],
			}
		)
		self.assertRaises(frappe.PermissionError, rule.insert)
