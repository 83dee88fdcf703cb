# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

"""Complaints: links that belong to one client, the responsible manager, the workflow and its rules, the
dates and days to resolve, who sees which complaint, and the timelines they show on.

Team A: head_a, sales1, sales2; team B: head_b, sales3 (simple_crm.tests.sales_org)."""

import datetime

import frappe
from frappe.desk.form.load import get_docinfo
from frappe.model.workflow import WorkflowTransitionError, apply_workflow

from simple_crm.masters import DisabledRecordError
from simple_crm.permissions import LinkNotVisibleError
from simple_crm.simple_crm.doctype.crm_complaint.crm_complaint import (
	ComplaintClientError,
	ComplaintDateError,
	ResolutionRequiredError,
)
from simple_crm.tests import factories
from simple_crm.tests.factories import make_client, make_complaint, make_contact, make_deal, make_order
from simple_crm.tests.sales_org import SalesOrgRestTestCase, SalesOrgTestCase, email
from simple_crm.timeline import get_timeline_content
from simple_crm.workflows import InitialStageError, StateNotEditableError

RECEIVED = datetime.datetime(2031, 3, 2, 10, 0)


def at(day: int, hour: int = 10, minute: int = 0) -> datetime.datetime:
	return datetime.datetime(2031, 3, day, hour, minute)


class TestComplaintLinks(SalesOrgTestCase):
	def setUp(self):
		super().setUp()
		self.client = make_client(responsible=email("sales1")).name
		self.deal = make_deal(self.client, responsible=email("sales1")).name
		self.order = make_order(client=self.client, deal=self.deal).name
		self.contact = make_contact(self.client).name
		self.other_client = make_client(responsible=email("sales2")).name

	def test_the_client_comes_from_the_deal_the_order_or_the_contact(self):
		for links in ({"deal": self.deal}, {"crm_order": self.order}, {"contact": self.contact}):
			with self.subTest(links=links):
				self.assertEqual(make_complaint(**links).client, self.client)

	def test_the_deal_order_and_contact_belong_to_the_client(self):
		other_deal = make_deal(self.other_client).name
		other_order = make_order(client=self.other_client).name
		other_contact = make_contact(self.other_client).name
		for links, words in (
			({"deal": other_deal}, f"Deal .*{other_deal}.* belongs to client"),
			({"crm_order": other_order}, f"Order .*{other_order}.* belongs to client"),
			({"contact": other_contact}, f"{other_contact}.* is not a contact person of client"),
		):
			with self.subTest(links=links):
				with self.assertRaisesRegex(ComplaintClientError, words):
					make_complaint(self.client, **links)
		# an order of the client but of another of its deals
		second_deal = make_deal(self.client).name
		with self.assertRaisesRegex(ComplaintClientError, f"is part of deal .*{self.deal}.*, not of deal"):
			make_complaint(self.client, deal=second_deal, crm_order=self.order)
		complaint = make_complaint(self.client, deal=self.deal, crm_order=self.order, contact=self.contact)
		self.assertEqual(
			(complaint.client, complaint.deal, complaint.crm_order, complaint.contact),
			(self.client, self.deal, self.order, self.contact),
		)

	def test_a_client_is_required(self):
		with self.assertRaises(frappe.MandatoryError):
			make_complaint()

	def test_a_disabled_category_is_not_chosen_anew(self):
		category = frappe.get_doc(
			{"doctype": "CRM Complaint Category", "category_name": factories.unique("Упаковка ")}
		).insert()
		complaint = make_complaint(self.client, category=category.name)
		category.db_set("disabled", 1)
		complaint.description = "Ещё подробности"
		complaint.save()  # a complaint that has it keeps it
		with self.assertRaises(DisabledRecordError):
			make_complaint(self.client, category=category.name)

	def test_the_subject_defaults_to_the_category(self):
		self.assertEqual(make_complaint(self.client, category="Delivery Times").subject, "Delivery Times")
		self.assertEqual(
			make_complaint(self.client, subject="  Опоздали на неделю ").subject, "Опоздали на неделю"
		)


class TestComplaintResponsible(SalesOrgTestCase):
	def test_the_client_s_responsible_manager_by_default(self):
		client = make_client(responsible=email("sales2")).name
		self.assertEqual(make_complaint(client).responsible, email("sales2"))
		self.assertEqual(make_complaint(client, responsible=email("sales1")).responsible, email("sales1"))

	def test_the_author_when_the_client_has_nobody(self):
		client = make_client().name
		self.assertIsNone(make_complaint(client).responsible)  # made by the system: nobody yet
		make_deal(client, responsible=email("sales1"))  # sales1 sees the client through their deal
		with self.set_user(email("sales1")):
			self.assertEqual(make_complaint(client).responsible, email("sales1"))


class TestComplaintWorkflow(SalesOrgTestCase):
	def setUp(self):
		super().setUp()
		self.client = make_client(responsible=email("sales1")).name

	def new_complaint(self, user: str = "sales1", **values):
		with self.freeze_time(RECEIVED), self.set_user(email(user)):
			return make_complaint(self.client, **values)

	def move(self, complaint, action: str, user: str, when: datetime.datetime, **values):
		with self.freeze_time(when), self.set_user(email(user)):
			doc = frappe.get_doc("CRM Complaint", complaint.name)
			if values:
				doc.update(values)
				doc.save()
			return apply_workflow(doc, action)

	def test_registered_in_work_resolved(self):
		complaint = self.new_complaint()
		self.assertEqual((complaint.status, complaint.received_on), ("Registered", RECEIVED))
		self.assertEqual((complaint.resolved_on, complaint.days_to_resolve), (None, 0))
		doc = self.move(complaint, "Start Work", "sales1", at(2, 11))
		self.assertEqual(doc.status, "In Work")
		with self.assertRaises(ResolutionRequiredError):
			self.move(complaint, "Resolve", "sales1", at(3, 22))
		# 2031-03-02 10:00 to 2031-03-03 22:00: 36 hours, 1.5 days
		doc = self.move(complaint, "Resolve", "sales1", at(3, 22), resolution="Заменили партию")
		self.assertEqual(doc.status, "Resolved")
		self.assertEqual(doc.resolved_on, at(3, 22))
		self.assertEqual(doc.days_to_resolve, 1.5)
		stored = frappe.db.get_value(
			"CRM Complaint", complaint.name, ["status", "resolved_on", "days_to_resolve"], as_dict=True
		)
		self.assertEqual(
			(stored.status, stored.resolved_on, stored.days_to_resolve), ("Resolved", at(3, 22), 1.5)
		)

	def test_rejected_needs_a_resolution_too(self):
		complaint = self.new_complaint()
		self.move(complaint, "Start Work", "sales1", at(2, 11))
		with self.assertRaises(ResolutionRequiredError):
			self.move(complaint, "Reject", "sales1", at(4), resolution="   ")
		# 2031-03-02 10:00 to 2031-03-04 16:00: 54 hours, 2.25 days
		doc = self.move(complaint, "Reject", "sales1", at(4, 16), resolution="Брак по вине покупателя")
		self.assertEqual((doc.status, doc.days_to_resolve), ("Rejected", 2.25))

	def test_a_closed_complaint_is_changed_and_reopened_by_a_head_of_sales_only(self):
		complaint = self.new_complaint()
		self.move(complaint, "Start Work", "sales1", at(2, 11))
		self.move(complaint, "Resolve", "sales1", at(3, 10), resolution="Вернули деньги")
		with self.set_user(email("sales1")):
			doc = frappe.get_doc("CRM Complaint", complaint.name)
			doc.resolution = "Передумали"
			with self.assertRaises(StateNotEditableError):
				doc.save()
			with self.assertRaises(WorkflowTransitionError):
				apply_workflow(frappe.get_doc("CRM Complaint", complaint.name), "Reopen")
		# the head of sales corrects the resolution; its time stays the system's
		with self.freeze_time(at(9)), self.set_user(email("head_a")):
			doc = frappe.get_doc("CRM Complaint", complaint.name)
			doc.resolution = "Вернули деньги и дали скидку"
			doc.resolved_on = at(20)
			doc.save()
			self.assertEqual((doc.resolved_on, doc.days_to_resolve), (at(3, 10), 1.0))
		doc = self.move(complaint, "Reopen", "head_a", at(10))
		self.assertEqual((doc.status, doc.resolved_on, doc.days_to_resolve), ("In Work", None, 0))
		# closed again: counted from receipt (2031-03-02 10:00 to 2031-03-12 10:00)
		doc = self.move(complaint, "Resolve", "sales1", at(12))
		self.assertEqual((doc.status, doc.days_to_resolve), ("Resolved", 10.0))

	def test_a_status_cannot_skip_the_workflow(self):
		complaint = self.new_complaint()
		with self.set_user(email("sales1")):
			doc = frappe.get_doc("CRM Complaint", complaint.name)
			doc.status = "Resolved"
			doc.resolution = "Сразу решили"
			with self.assertRaises(frappe.ValidationError):
				doc.save()
		self.assertEqual(frappe.db.get_value("CRM Complaint", complaint.name, "status"), "Registered")

	def test_a_new_complaint_starts_registered_unless_history_is_loaded(self):
		with self.assertRaises(InitialStageError):
			self.new_complaint(status="In Work")
		# a head of sales loads a complaint closed last year, with its dates
		with self.freeze_time(at(20)), self.set_user(email("head_a")):
			doc = make_complaint(
				self.client,
				status="Resolved",
				received_on=datetime.datetime(2030, 11, 1, 9, 0),
				resolved_on=datetime.datetime(2030, 11, 3, 21, 0),
				resolution="Решено в прошлом году",
			)
		self.assertEqual((doc.status, doc.days_to_resolve), ("Resolved", 2.5))

	def test_dates(self):
		with self.freeze_time(RECEIVED), self.assertRaises(ComplaintDateError):
			make_complaint(self.client, received_on=at(3))
		with self.freeze_time(RECEIVED):
			# a few minutes ahead is the browser's clock
			self.assertEqual(make_complaint(self.client, received_on=at(2, 10, 3)).received_on, at(2, 10, 3))
			with self.assertRaisesRegex(ComplaintDateError, "cannot be before"):
				make_complaint(
					self.client,
					status="Resolved",
					resolution="x",
					received_on=at(1),
					resolved_on=datetime.datetime(2031, 2, 27),
				)


class TestComplaintWorkflowEdits(SalesOrgTestCase):
	def tearDown(self):
		super().tearDown()
		frappe.clear_cache(doctype="CRM Complaint")

	def test_a_state_added_in_the_desk_becomes_a_status(self):
		from simple_crm.workflows import COMPLAINT_WORKFLOW, ensure_state

		ensure_state("Escalated")
		workflow = frappe.get_doc("Workflow", COMPLAINT_WORKFLOW)
		workflow.append(
			"states", {"state": "Escalated", "doc_status": "0", "allow_edit": "CRM Head of Sales"}
		)
		workflow.append(
			"transitions",
			{
				"state": "In Work",
				"action": "Reopen",
				"next_state": "Escalated",
				"allowed": "CRM Head of Sales",
			},
		)
		workflow.save()
		options = frappe.get_meta("CRM Complaint").get_field("status").options.split("\n")
		self.assertEqual(options, ["Registered", "In Work", "Resolved", "Rejected", "Escalated"])


class TestComplaintVisibility(SalesOrgTestCase):
	"""A sales manager sees the complaints they work and those of their clients; a head of sales their
	team's; a director all."""

	def setUp(self):
		super().setUp()
		client_a = make_client(responsible=email("sales1")).name
		client_b = make_client(responsible=email("sales3")).name
		self.complaints = {
			# of sales1's client, worked by sales1
			"own": make_complaint(client_a).name,
			# of sales1's client, worked by sales3 (another team)
			"own_client": make_complaint(client_a, responsible=email("sales3")).name,
			# of sales3's client, worked by sales1
			"worked": make_complaint(client_b, responsible=email("sales1")).name,
			# of sales3's client, worked by sales3
			"foreign": make_complaint(client_b).name,
			# of sales3's client, worked by sales2 (sales1's teammate)
			"teammate": make_complaint(client_b, responsible=email("sales2")).name,
		}

	def visible(self, user: str) -> set[str]:
		names = set(self.complaints.values())
		listed = set(
			frappe.get_list(
				"CRM Complaint", filters={"name": ("in", list(names))}, pluck="name", user=email(user)
			)
		)
		# the same for one record at a time
		with self.set_user(email(user)):
			readable = {
				name
				for name in names
				if frappe.has_permission("CRM Complaint", "read", doc=name, user=email(user))
			}
		self.assertEqual(listed, readable, user)
		return {key for key, name in self.complaints.items() if name in listed}

	def test_who_sees_which_complaint(self):
		self.assertEqual(self.visible("sales1"), {"own", "own_client", "worked"})
		self.assertEqual(self.visible("sales2"), {"teammate"})
		self.assertEqual(self.visible("sales3"), {"own_client", "foreign", "worked", "teammate"})
		self.assertEqual(self.visible("head_a"), {"own", "own_client", "worked", "teammate"})
		self.assertEqual(self.visible("head_b"), {"own_client", "foreign", "worked", "teammate"})
		self.assertEqual(self.visible("director"), set(self.complaints))

	def test_a_complaint_links_only_records_its_author_sees(self):
		foreign_client = make_client(responsible=email("sales3")).name
		with self.set_user(email("sales1")), self.assertRaises(LinkNotVisibleError):
			make_complaint(foreign_client)


class TestComplaintTimeline(SalesOrgTestCase):
	def test_on_the_client_s_deal_s_and_contact_s_timelines(self):
		client = make_client(responsible=email("sales1")).name
		deal = make_deal(client, responsible=email("sales1")).name
		contact = make_contact(client).name
		complaint = make_complaint(
			client, deal=deal, contact=contact, subject="Бой стекла <b>", category="Damaged in Transit"
		)
		for doctype, name in (("CRM Client", client), ("CRM Deal", deal), ("Contact", contact)):
			with self.subTest(doctype):
				contents = [
					i["content"]
					for i in get_timeline_content(doctype, name)
					if complaint.name in i["content"]
				]
				self.assertEqual(len(contents), 1, contents)
				self.assertIn("Бой стекла &lt;b&gt;", contents[0])
		with self.set_user(email("sales1")):
			get_docinfo(doctype="CRM Deal", name=deal)
			items = frappe.response["docinfo"]["additional_timeline_content"]
			self.assertEqual([i["icon"] for i in items if complaint.name in i["content"]], ["criticize"])
		# a colleague of another team is not shown it
		with self.set_user(email("sales3")):
			self.assertFalse(
				[i for i in get_timeline_content("CRM Client", client) if complaint.name in i["content"]]
			)


class TestComplaintRest(SalesOrgRestTestCase):
	def setUp(self):
		super().setUp()
		self.client_name = self.track("CRM Client", make_client(responsible=email("sales1")).name)
		self.foreign_client = self.track("CRM Client", make_client(responsible=email("sales3")).name)
		self.foreign = self.track("CRM Complaint", make_complaint(self.foreign_client).name)
		frappe.db.commit()

	def test_a_sales_manager_over_rest(self):
		r = self.rest_insert(
			"CRM Complaint",
			{
				"client": self.client_name,
				"category": "Customer Service",
				"description": "Грубили по телефону",
			},
			user=email("sales1"),
		)
		self.assertEqual(r.status_code, 200, r.text)
		self.assertEqual((r.data["responsible"], r.data["status"]), (email("sales1"), "Registered"))
		name = r.data["name"]
		self.assertTrue(name.startswith("CMP-"), name)
		# straight to Resolved: the workflow refuses, and nothing changes
		r = self.rest_update(
			"CRM Complaint", name, {"status": "Resolved", "resolution": "x"}, user=email("sales1")
		)
		self.assertEqual(r.status_code, 417, r.text)
		frappe.db.rollback()
		self.assertEqual(frappe.db.get_value("CRM Complaint", name, "status"), "Registered")
		# a colleague's complaint is not theirs to read or change
		self.assertEqual(self.rest_get("CRM Complaint", self.foreign, user=email("sales1")).status_code, 403)
		r = self.rest_update("CRM Complaint", self.foreign, {"description": "hacked"}, user=email("sales1"))
		self.assertEqual(r.status_code, 403, r.text)
		listed = self.rest_list("CRM Complaint", user=email("sales1"), limit_page_length=0).data
		self.assertIn(name, {row["name"] for row in listed})
		self.assertNotIn(self.foreign, {row["name"] for row in listed})
		# a deal of another client is refused with a message
		deal = self.track("CRM Deal", make_deal(self.foreign_client, responsible=email("sales1")).name)
		r = self.rest_insert(
			"CRM Complaint",
			{"client": self.client_name, "deal": deal, "category": "Customer Service", "description": "x"},
			user=email("sales1"),
		)
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("ComplaintClientError", r.text)
		self.assertRegex(r.error_text(), f"Deal .*{deal}.* belongs to client .*{self.foreign_client}")
