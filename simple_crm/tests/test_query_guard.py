"""List queries take plain columns and the Desk's aggregates, never a sub-query (simple_crm.security.query_guard).

A hostile sales manager (sales1, team A) aims at a deal of sales3 (team B) through every list entry point
that takes fields, an order or a grouping; each crafted expression is refused with a 4xx, and the deal's
name and amount appear in no answer. Honest queries (columns, aggregates, aliases, orders, groups) still
work and still see only her own records.
"""

import json
from urllib.parse import urlencode

import frappe

from simple_crm.tests.sales_org import TwoTeamsRecordsTestCase, email

SECRET_AMOUNT = 987654.321


class TestQueryGuard(TwoTeamsRecordsTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		frappe.db.set_value("CRM Deal", cls.theirs["CRM Deal"], "amount", SECRET_AMOUNT)
		cls.secret = cls.theirs["CRM Deal"]
		frappe.db.commit()

	def leaks(self, r) -> bool:
		return self.secret in r.text or "987654" in r.text

	def sub_query(self, column: str = "amount") -> str:
		return (
			f"(select group_concat(name, ':', {column}) from `tabCRM Deal` where name = "
			f"{frappe.db.escape(self.secret)})"
		)

	def crafted_fields(self) -> list[str]:
		q = self.sub_query()
		return [
			f"max({q}) as leak",
			f"min({q})",
			f"sum({q})",
			f"count({q})",
			f"{q} as leak",
			f"name, {q}",
			f"if(1, {q}, 0)",
			f"concat_ws(':', name, {q})",
			"(select 1) as x",
			"version()",
			"@@version",
			"name as `x`, (select 1) as `y`",
			"`tabCRM Deal`.`amount` * 2",
			"unknown_column",
			"`tabCRM Order`.`amount`",
		]

	def get_list_paths(self, doctype: str, fields: list[str], **kwargs):
		"""(label, response) for each list entry point with these fields."""
		user = email("sales1")
		args = {"doctype": doctype, "fields": fields, **kwargs}
		query = {k: json.dumps(v) if not isinstance(v, str) else v for k, v in args.items() if k != "doctype"}
		yield "resource", self.request("GET", f"/api/resource/{doctype}?{urlencode(query)}", user)
		yield "client.get_list", self.rest_call("frappe.client.get_list", args, user=user)
		yield "reportview.get", self.rest_call("frappe.desk.reportview.get", args, user=user)
		yield "reportview.get_list", self.rest_call("frappe.desk.reportview.get_list", args, user=user)

	def assert_refused(self, label, r):
		self.assertGreaterEqual(r.status_code, 400, f"{label}: {r.status_code} {r.text[:300]}")
		self.assertLess(r.status_code, 500, f"{label}: {r.status_code} {r.text[:300]}")
		self.assertFalse(self.leaks(r), f"{label}: {r.text[:300]}")

	def test_sub_queries_in_fields_are_refused_everywhere(self):
		for field in self.crafted_fields():
			for doctype in ("CRM Deal", "CRM Lead", "ToDo"):
				if doctype == "ToDo" and "select" not in field:
					continue  # other doctypes keep Frappe's own rules but for sub-queries
				for label, r in self.get_list_paths(doctype, [field]):
					with self.subTest(field=field, doctype=doctype, path=label):
						self.assert_refused(label, r)

	def test_sub_queries_in_order_and_group_are_refused(self):
		q = self.sub_query()
		for kwargs in (
			{"order_by": f"{q} desc"},
			{"order_by": "(select sleep(1))"},
			{"order_by": "name, if(1, (select sleep(1)), 0)"},
			{"order_by": f"max({q})"},
			{"group_by": f"{q}"},
			{"group_by": "name having max((select 1)) = 1"},
		):
			for label, r in self.get_list_paths("CRM Deal", ["name"], **kwargs):
				with self.subTest(path=label, **kwargs):
					self.assert_refused(label, r)

	def test_client_get_value_with_an_expression(self):
		r = self.rest_call(
			"frappe.client.get_value",
			{"doctype": "CRM Deal", "fieldname": f"max({self.sub_query()})", "filters": {}},
			user=email("sales1"),
		)
		self.assert_refused("get_value", r)

	def test_number_card_and_chart(self):
		q = self.sub_query()
		card = {"function": "Maximum", "aggregate_function_based_on": q, "document_type": "CRM Deal"}
		r = self.rest_call(
			"frappe.desk.doctype.number_card.number_card.get_result",
			{"doc": json.dumps(card), "filters": "[]"},
			user=email("sales1"),
		)
		self.assert_refused("number card", r)
		for chart in (
			{
				"chart_type": "Group By",
				"document_type": "CRM Deal",
				"group_by_type": "Sum",
				"group_by_based_on": "stage",
				"aggregate_function_based_on": q,
			},
			{"chart_type": "Sum", "type": "Heatmap", "document_type": "CRM Deal", "based_on": "creation"},
			{
				"chart_type": "Sum",
				"type": "Line",
				"document_type": "CRM Deal",
				"based_on": "creation",
				"value_based_on": q,
				"timespan": "Last Year",
				"time_interval": "Monthly",
			},
		):
			with self.subTest(chart=chart):
				r = self.rest_call(
					"frappe.desk.doctype.dashboard_chart.dashboard_chart.get",
					{"chart": json.dumps(chart), "no_cache": 1},
					user=email("sales1"),
				)
				self.assert_refused("chart", r)

	def test_honest_queries_still_work_and_see_only_her_records(self):
		user = email("sales1")
		fields = [
			"name",
			"`tabCRM Deal`.`amount`",
			"amount as value",
			"count(name) as n",
			"sum(`tabCRM Deal`.`amount`) as total",
			"max(amount)",
			"count(distinct name) as deals",
		]
		for label, r in self.get_list_paths("CRM Deal", fields, group_by="stage", order_by="n desc"):
			with self.subTest(path=label):
				self.assertEqual(r.status_code, 200, r.text[:300])
				self.assertFalse(self.leaks(r))
		r = self.rest_list("CRM Deal", user=user, fields=["name", "amount"], order_by="amount desc, name asc")
		self.assertEqual(r.status_code, 200, r.text[:300])
		self.assertIn(self.mine["CRM Deal"], [row["name"] for row in r.data])
		self.assertNotIn(self.secret, [row["name"] for row in r.data])
		# the Desk's number cards, charts and child rows
		card = {"function": "Sum", "aggregate_function_based_on": "amount", "document_type": "CRM Deal"}
		r = self.rest_call(
			"frappe.desk.doctype.number_card.number_card.get_result",
			{"doc": json.dumps(card), "filters": "[]"},
			user=user,
		)
		self.assertEqual(r.status_code, 200, r.text[:300])
		self.assertLess(r.data, SECRET_AMOUNT)
		chart = {
			"chart_type": "Group By",
			"document_type": "CRM Deal",
			"group_by_type": "Count",
			"group_by_based_on": "stage",
		}
		r = self.rest_call(
			"frappe.desk.doctype.dashboard_chart.dashboard_chart.get",
			{"chart": json.dumps(chart), "no_cache": 1},
			user=user,
		)
		self.assertEqual(r.status_code, 200, r.text[:300])
		r = self.rest_list(
			"CRM Deal Item",
			user=user,
			parent="CRM Deal",
			fields=["`tabCRM Deal Item`.`item_name`", "count(name) as n"],
			group_by="item_name",
		)
		self.assertEqual(r.status_code, 200, r.text[:300])
		# and other doctypes keep their own expressions
		r = self.rest_list("ToDo", user=user, fields=["status", "count(name) as n"], group_by="status")
		self.assertEqual(r.status_code, 200, r.text[:300])

	def test_links_to_row_level_records_are_not_joined(self):
		"""`link_field.column` would join the linked record without its row-level rule."""
		call = frappe.get_doc("CRM Call", self.mine["CRM Call"])
		frappe.db.set_value("CRM Call", call.name, "deal", self.secret)
		frappe.db.commit()
		try:
			r = self.rest_list("CRM Call", user=email("sales1"), fields=["name", "deal.amount"])
			self.assert_refused("linked column", r)
		finally:
			frappe.db.set_value("CRM Call", call.name, "deal", None)
			frappe.db.commit()
		# a master without row-level rules may be joined
		r = self.rest_list("CRM Deal", user=email("sales1"), fields=["name", "pipeline.pipeline_name"])
		self.assertEqual(r.status_code, 200, r.text[:300])

	def test_administrator_is_not_limited(self):
		frappe.set_user("Administrator")
		rows = frappe.get_list("CRM Deal", fields=["count(*) as n"], filters={"name": self.secret})
		self.assertEqual(rows[0].n, 1)

	def test_the_kanban_with_a_filter_in_its_address_lists_deals_with_their_clients_titles(self):
		"""The Desk's list and kanban ask for a linked record's title (`client.client_name as client_client_name`:
		CRM Client shows links by title) once the linked doctype is loaded, which a filter in the address
		brings about. It is answered, with the title of a record the user sees and none of one she cannot."""
		user = email("sales1")
		mine = frappe.get_doc("CRM Deal", self.mine["CRM Deal"])
		fields = [
			"`tabCRM Deal`.`name`",
			"`tabCRM Deal`.`stage`",
			"`tabCRM Deal`.`amount`",
			"client.client_name as client_client_name",
		]
		args = {
			"doctype": "CRM Deal",
			"fields": fields,
			"filters": [["CRM Deal", "pipeline", "=", mine.pipeline]],
		}
		r = self.rest_call(
			"frappe.desk.reportview.get", {**args, "page_length": 0, "view": "List"}, user=user
		)
		self.assertEqual(r.status_code, 200, r.text[:300])
		message = r.json["message"]
		rows = [dict(zip(message["keys"], values, strict=True)) for values in message["values"]]
		frappe.set_user(user)
		visible = frappe.get_list(
			"CRM Deal", filters={"pipeline": mine.pipeline}, fields=["name", "client"], limit=0
		)
		frappe.set_user("Administrator")
		self.assertIn(mine.name, [deal.name for deal in visible])
		self.assertEqual(
			{row["name"]: row["client_client_name"] for row in rows},
			{deal.name: frappe.db.get_value("CRM Client", deal.client, "client_name") for deal in visible},
		)
		self.assertFalse(self.leaks(r))

		# a colleague's client on a record she sees: the join is made, the title is not read
		call = frappe.get_doc("CRM Call", self.mine["CRM Call"])
		theirs_client = self.theirs["CRM Client"]
		theirs_title = frappe.db.get_value("CRM Client", theirs_client, "client_name")
		frappe.db.set_value("CRM Call", call.name, {"deal": self.secret, "client": theirs_client})
		frappe.db.commit()
		try:
			r = self.rest_list(
				"CRM Call",
				user=user,
				fields=[
					"name",
					"deal.deal_name as deal_deal_name",
					"client.client_name as client_client_name",
				],
				filters=[["CRM Call", "name", "=", call.name]],
			)
			self.assertEqual(r.status_code, 200, r.text[:300])
			self.assertEqual(
				r.json["data"], [{"name": call.name, "deal_deal_name": None, "client_client_name": None}]
			)
			self.assertNotIn(theirs_title, r.text)
			self.assertNotIn(frappe.db.get_value("CRM Deal", self.secret, "deal_name"), r.text)
			# the colleague's head of sales sees both titles
			r = self.rest_list(
				"CRM Call",
				user=email("director"),
				fields=["name", "client.client_name as client_client_name"],
				filters=[["CRM Call", "name", "=", call.name]],
			)
			self.assertEqual(r.json["data"], [{"name": call.name, "client_client_name": theirs_title}])
		finally:
			frappe.db.set_value("CRM Call", call.name, {"deal": None, "client": self.mine["CRM Client"]})
			frappe.db.commit()

	def test_only_the_title_of_a_linked_record_is_taken(self):
		"""Anything beyond the linked title, or the title in an aggregate, order or grouping, is still refused."""
		user = email("sales1")
		hostile = (
			{"fields": ["name", "client.turnover"]},
			{"fields": ["name", "client.client_name as t", "client.responsible as r"]},
			{"fields": ["max(client.client_name) as t"]},
			{"fields": ["name", "`tabCRM Client_1`.`client_name`"]},
			{
				"fields": ["name", "client.client_name as t"],
				"order_by": "`tabCRM Client_1`.`client_name` asc",
			},
			{"fields": ["name"], "group_by": "client.client_name"},
			{"fields": ["name", f"client.client_name as t, {self.sub_query()} as leak"]},
			{
				"fields": ["name", "client.client_name as t"],
				"filters": [["CRM Deal", "pipeline", "=", "x') or (1=1"]],
			},
		)
		for kwargs in hostile:
			with self.subTest(**kwargs):
				r = self.rest_list("CRM Deal", user=user, **kwargs)
				if r.status_code == 200:
					# a filter is a value, never SQL: it matches nothing
					self.assertIn("filters", kwargs)
					self.assertEqual(r.json["data"], [])
				else:
					self.assert_refused("linked column", r)
