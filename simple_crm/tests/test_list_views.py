"""The lists sales people read: the task list open tasks first, the nearest due first (then the last closed), by
one sort key the task keeps and a patch fills for older tasks; the columns of leads, deals and tasks shipped as
List View Settings."""

import json
from datetime import timedelta

import frappe
from frappe.utils import now_datetime

from simple_crm.list_views import LIST_COLUMNS, seed_list_view_settings
from simple_crm.patches.v1_0 import task_list_order
from simple_crm.tests import factories
from simple_crm.tests.sales_org import SalesOrgTestCase, email


class TestTaskListOrder(SalesOrgTestCase):
	def make(self, key: str, status: str = "Open", due=None, closed_ago=None):
		task = factories.make_task(
			subject=f"{self.prefix} {key}",
			task_type="Other",
			assigned_to=email("sales1"),
			author=email("sales1"),
			due_on=due,
		)
		if status != "Open":
			task.status = status
			task.save()
		if closed_ago is not None:
			closed = now_datetime() - closed_ago
			field = "completed_on" if status == "Done" else "modified"
			frappe.db.set_value("CRM Task", task.name, field, closed, update_modified=False)
			task.reload()
			task.save()
			if status != "Done":
				frappe.db.set_value("CRM Task", task.name, "modified", closed, update_modified=False)
				task.reload()
				task.set_list_order()
				frappe.db.set_value(
					"CRM Task", task.name, "list_order", task.list_order, update_modified=False
				)
		return task

	def listed(self) -> list[str]:
		rows = frappe.get_list(
			"CRM Task", filters={"subject": ("like", f"{self.prefix} %")}, fields=["subject"], limit=0
		)
		return [row.subject.split(" ", 1)[1] for row in rows]

	def test_open_tasks_first_the_nearest_due_first(self):
		self.prefix = factories.unique("Порядок")
		now = now_datetime()
		self.make("done long ago", "Done", now - timedelta(days=9), closed_ago=timedelta(days=8))
		self.make("open in two days", "Open", now + timedelta(days=2))
		self.make("cancelled yesterday", "Cancelled", now + timedelta(days=1), closed_ago=timedelta(days=1))
		self.make("open without due date")
		self.make("in progress tomorrow", "In Progress", now + timedelta(days=1))
		self.make("done an hour ago", "Done", now - timedelta(days=3), closed_ago=timedelta(hours=1))
		self.make("overdue", "Open", now - timedelta(days=2))
		expected = [
			"overdue",
			"in progress tomorrow",
			"open in two days",
			"open without due date",
			"done an hour ago",
			"cancelled yesterday",
			"done long ago",
		]
		frappe.set_user(email("sales1"))
		# the list's own order (the doctype's sort), as the Desk asks for it when nobody chose another
		self.assertEqual(frappe.get_meta("CRM Task").sort_field, "list_order")
		self.assertEqual(self.listed(), expected)

		# the patch gives older tasks the same key
		frappe.set_user("Administrator")
		keys = dict(
			frappe.get_all(
				"CRM Task",
				filters={"subject": ("like", f"{self.prefix} %")},
				fields=["name", "list_order"],
				as_list=True,
			)
		)
		frappe.db.sql("update `tabCRM Task` set list_order = null where subject like %s", f"{self.prefix} %")
		task_list_order.execute()
		again = dict(
			frappe.get_all(
				"CRM Task",
				filters={"subject": ("like", f"{self.prefix} %")},
				fields=["name", "list_order"],
				as_list=True,
			)
		)
		self.assertEqual(again, keys)

		# reopening a done task puts it back among the open ones by its due date
		done = frappe.get_doc("CRM Task", {"subject": f"{self.prefix} done an hour ago"})
		done.status = "Open"
		done.save()
		frappe.set_user(email("sales1"))
		self.assertEqual(self.listed()[:2], ["done an hour ago", "overdue"])


class TestListColumns(SalesOrgTestCase):
	def test_columns_people_read(self):
		seed_list_view_settings()
		for doctype, columns in LIST_COLUMNS.items():
			settings = frappe.get_doc("List View Settings", doctype)
			self.assertEqual([f["fieldname"] for f in json.loads(settings.fields)], list(columns))
			meta = frappe.get_meta(doctype)
			for fieldname in columns:
				if fieldname != "status_field":
					# Frappe shows a column only for a field in the list view
					self.assertTrue(meta.get_field(fieldname).in_list_view, f"{doctype}.{fieldname}")
		self.assertIn("phone", LIST_COLUMNS["CRM Lead"])
		self.assertIn("reference_name", LIST_COLUMNS["CRM Task"])
		# an administrator's own settings stay
		settings = frappe.get_doc("List View Settings", "CRM Lead")
		settings.total_fields = "4"
		settings.save()
		seed_list_view_settings()
		self.assertEqual(frappe.db.get_value("List View Settings", "CRM Lead", "total_fields"), "4")
