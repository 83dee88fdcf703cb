"""The quick actions of the lead, client and deal forms over REST, as the sales organisation's users: Next Task
plans a CRM Task about the record (assigned to the user unless a colleague is named), Log Call records a CRM
Call about it; neither writes anything about a record the user may not see, and bad input is refused with a
message. The client form's connections count its deals under the row-level rules."""

import frappe
from frappe.tests.test_api import make_request
from frappe.utils import add_days, add_to_date, get_datetime, now_datetime

from simple_crm.tests import factories
from simple_crm.tests.sales_org import SalesOrgRestTestCase, email
from simple_crm.tests.utils import RestResponse

NEXT_TASK = "simple_crm.api.task.next_task"
LOG_CALL = "simple_crm.api.telephony.log_call"


def tomorrow_at_ten() -> str:
	return str(add_days(now_datetime(), 1).replace(hour=10, minute=0, second=0, microsecond=0))


class TestQuickActions(SalesOrgRestTestCase):
	def setUp(self):
		super().setUp()
		self.manager = email("sales1")
		self.crm_client = factories.make_client(responsible=self.manager)
		self.deal = factories.make_deal(self.crm_client.name, responsible=self.manager)
		self.lead = factories.make_lead(responsible=self.manager)
		self.foreign_crm_client = factories.make_client(responsible=email("sales3"))
		self.foreign_deal = factories.make_deal(self.foreign_crm_client.name, responsible=email("sales3"))
		self.foreign_lead = factories.make_lead(responsible=email("sales3"))
		for doc in (
			self.crm_client,
			self.foreign_crm_client,
			self.lead,
			self.foreign_lead,
			self.deal,
			self.foreign_deal,
		):
			self.track(doc.doctype, doc.name)
		self.started = now_datetime()
		frappe.db.commit()

	def tearDown(self):
		frappe.db.rollback()
		for doctype in ("CRM Task", "CRM Call"):
			for name in frappe.get_all(doctype, filters={"creation": (">=", self.started)}, pluck="name"):
				frappe.delete_doc(doctype, name, force=True, ignore_permissions=True)
		frappe.db.commit()
		super().tearDown()

	def new_tasks(self) -> list[str]:
		"""Tasks the manager made in this test (the automation's call-back tasks for the new leads aside)."""
		return frappe.get_all(
			"CRM Task", filters={"creation": (">=", self.started), "owner": self.manager}, pluck="name"
		)

	def test_next_task_on_a_deal_is_the_managers_own_by_default(self):
		due = tomorrow_at_ten()
		r = self.rest_call(
			NEXT_TASK,
			{"doctype": "CRM Deal", "name": self.deal.name, "subject": "Отправить КП", "due_on": due},
			self.manager,
		)
		self.assertEqual(r.status_code, 200, r.text[:500])
		task = frappe.get_doc("CRM Task", r.data)
		self.assertEqual(
			(task.reference_doctype, task.reference_name, task.assigned_to, task.author, task.task_type),
			("CRM Deal", self.deal.name, self.manager, self.manager, "Call"),
		)
		self.assertEqual(get_datetime(task.due_on), get_datetime(due))
		# and it is on the deal's timeline
		from simple_crm.timeline import get_timeline_content

		frappe.set_user(self.manager)
		self.assertIn(task.name, frappe.as_json(get_timeline_content("CRM Deal", self.deal.name)))

	def test_next_task_for_a_colleague_on_a_lead(self):
		r = self.rest_call(
			NEXT_TASK,
			{
				"doctype": "CRM Lead",
				"name": self.lead.name,
				"subject": "Встреча",
				"task_type": "Meeting",
				"due_on": tomorrow_at_ten(),
				"assigned_to": email("sales2"),
			},
			self.manager,
		)
		self.assertEqual(r.status_code, 200, r.text[:500])
		self.assertEqual(
			frappe.db.get_value("CRM Task", r.data, ["assigned_to", "author", "task_type"]),
			(email("sales2"), self.manager, "Meeting"),
		)

	def test_no_task_or_call_about_a_record_the_manager_may_not_see(self):
		for doctype, name in (
			("CRM Deal", self.foreign_deal.name),
			("CRM Lead", self.foreign_lead.name),
			("CRM Client", self.foreign_crm_client.name),
		):
			with self.subTest(doctype=doctype):
				r = self.rest_call(
					NEXT_TASK, {"doctype": doctype, "name": name, "subject": "x"}, self.manager
				)
				self.assertEqual(r.status_code, 403, r.text[:500])
				r = self.rest_call(
					LOG_CALL, {"doctype": doctype, "name": name, "phone": "+79161230000"}, self.manager
				)
				self.assertEqual(r.status_code, 403, r.text[:500])
		frappe.db.rollback()
		self.assertEqual(self.new_tasks(), [])
		self.assertEqual(frappe.db.count("CRM Call", {"creation": (">=", self.started)}), 0)

	def test_bad_input_is_refused_with_a_message(self):
		cases = (
			({"subject": "  "}, "должна быть тема"),
			({"subject": "x", "due_on": str(add_to_date(now_datetime(), hours=-2))}, "в прошлом"),
			({"subject": "x", "task_type": "Lunch"}, "Тип задачи"),
			({"subject": "x", "doctype": "CRM Order"}, "только для"),
		)
		for values, message in cases:
			with self.subTest(values=values):
				data = {"doctype": "CRM Deal", "name": self.deal.name, **values}
				r = self.call_in_russian(NEXT_TASK, data, self.manager)
				self.assertEqual(r.status_code, 417, r.text[:500])
				self.assertIn(message, r.error_text())
		frappe.db.rollback()
		self.assertEqual(self.new_tasks(), [])

	def call_in_russian(self, method: str, data: dict, user: str) -> RestResponse:
		frappe.db.commit()
		headers = {
			"Authorization": self.token_for(user),
			"Accept": "application/json",
			"Accept-Language": "ru",
		}
		return RestResponse(
			make_request(
				target=self.client.post,
				args=(f"/api/method/{method}",),
				kwargs={"headers": headers, "json": data},
			)
		)

	def test_log_call_on_a_deal_links_the_deal_and_its_client(self):
		r = self.rest_call(
			LOG_CALL,
			{"doctype": "CRM Deal", "name": self.deal.name, "phone": "8 916 000-11-22", "duration": 824},
			self.manager,
		)
		self.assertEqual(r.status_code, 200, r.text[:500])
		self.assertEqual(
			frappe.db.get_value("CRM Call", r.data, ["deal", "client", "duration", "manager"]),
			(self.deal.name, self.crm_client.name, 824, self.manager),
		)

	def test_the_client_form_counts_its_deals(self):
		r = self.request(
			"GET",
			f"/api/method/frappe.desk.notifications.get_open_count?doctype=CRM%20Client&name={self.crm_client.name}",
			self.manager,
		)
		self.assertEqual(r.status_code, 200, r.text[:500])
		found = r.data["count"]["external_links_found"]
		self.assertEqual({row["doctype"]: row["count"] for row in found}.get("CRM Deal"), 1)
