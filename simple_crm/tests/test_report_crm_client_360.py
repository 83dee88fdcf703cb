"""The report "CRM Client 360": one client (or counterparty) with its deals, orders, counterparties,
contacts, calls, tasks and complaints.

A fixed dataset, the clock frozen at 2031-11-15 12:00 (NOW). Client C1 (sales1's), accounting figures
turnover 12000, debt 500; counterparties CP1 (debt 300, turnover 5000) and CP2 (debt 200, turnover 7000);
one contact.

	deals   D1 sales1 open 1000 CP1 created 11-01;  D2 sales1 won 2000 CP2 created 05-01;
	        D3 sales3 open 4000 created 11-05 (a colleague's deal with the same client)
	orders  O1 D2 CP2 2031-10-05 1500 paid 1000;  O2 D2 CP1 2031-06-10 500 paid 500;
	        O3 CP1 2030-01-10 700 paid 700 (before the chart's 12 months)
	calls   K1 sales1 11-10 outbound 120 s;  K2 sales1 07-01 (more than 90 days ago);  K3 sales3 11-01
	tasks   T1 on C1, sales1, due 11-14, open (overdue);  T2 on D1, sales1, done 11-12;
	        T3 on D3, sales3, due 12-01, open
	complaints  P1 sales1 registered 11-01;  P2 sales1 resolved (09-01 -> 09-03, 2 days)

Who sees what (simple_crm.permissions.rules): sales1 their deals D1, D2, every order of their client, their
own calls and tasks, the client's complaints; head_b (sales3's head) sees C1 through D3: D3, K3, T3;
sales2 does not see C1 at all.
"""

import datetime

import frappe

from simple_crm.report_filters import ReportFilterError
from simple_crm.tests import factories
from simple_crm.tests.report_checks import at_noon, records_behind, run_report
from simple_crm.tests.sales_org import SalesOrgRestTestCase, SalesOrgTestCase, email

REPORT = "CRM Client 360"
NOW = "2031-11-15"


def sections(result) -> dict[str, tuple[str, list[str]]]:
	"""section -> (its opening row's description, the names listed in it)."""
	out = {}
	for row in result.result:
		if row.get("is_section"):
			out[row["section"]] = (row["description"], [])
		else:
			out[row["section"]][1].append(row["reference_name"])
	return out


def head(result, section: str) -> dict:
	return next(row for row in result.result if row.get("is_section") and row["section"] == section)


def summary(result) -> dict:
	return {card["label"]: card["value"] for card in result.report_summary}


class Client360Data:
	def make_dataset(self):
		sales1, sales3 = email("sales1"), email("sales3")
		n = self.n = {}
		with self.freeze_time(at_noon("2031-04-01")):
			n["C1"] = factories.make_client(
				client_name=factories.unique("Клиент 360 "), responsible=sales1
			).name
			n["CP1"] = factories.make_counterparty(n["C1"]).name
			n["CP2"] = factories.make_counterparty(n["C1"]).name
			n["contact"] = factories.make_contact(n["C1"], first_name="Иван", last_name="Петров").name
		# accounting's figures (dated, so the orders below do not replace them with their own sums)
		synced = "2031-04-01 12:00:00"
		frappe.db.set_value("CRM Client", n["C1"], {"turnover": 12000, "debt": 500})
		frappe.db.set_value(
			"CRM Counterparty", n["CP1"], {"turnover": 5000, "debt": 300, "accounting_synced_on": synced}
		)
		frappe.db.set_value(
			"CRM Counterparty", n["CP2"], {"turnover": 7000, "debt": 200, "accounting_synced_on": synced}
		)
		for key, responsible, created, amount, counterparty in (
			("D1", sales1, "2031-11-01", 1000, n["CP1"]),
			("D2", sales1, "2031-05-01", 2000, n["CP2"]),
			("D3", sales3, "2031-11-05", 4000, None),
		):
			with self.freeze_time(at_noon(created)):
				n[key] = factories.make_deal(
					n["C1"], responsible=responsible, amount=amount, counterparty=counterparty
				).name
		with self.freeze_time(at_noon("2031-06-01")):
			deal = frappe.get_doc("CRM Deal", n["D2"])
			deal.stage = "Won"
			deal.save()
		for key, deal, counterparty, day, amount, paid in (
			("O1", n["D2"], n["CP2"], "2031-10-05", 1500, 1000),
			("O2", n["D2"], n["CP1"], "2031-06-10", 500, 500),
			("O3", None, n["CP1"], "2030-01-10", 700, 700),
		):
			n[key] = factories.make_order(
				client=n["C1"],
				deal=deal,
				counterparty=counterparty,
				order_date=day,
				amount=amount,
				paid_amount=paid,
			).name
		with self.freeze_time(at_noon("2031-11-12")):
			n["T1"] = factories.make_task(
				reference_doctype="CRM Client",
				reference_name=n["C1"],
				assigned_to=sales1,
				due_on="2031-11-14 10:00:00",
			).name
			n["T2"] = factories.make_task(
				reference_doctype="CRM Deal",
				reference_name=n["D1"],
				assigned_to=sales1,
				due_on="2031-11-12 10:00:00",
				status="Done",
				result="Созвонились",
			).name
			n["T3"] = factories.make_task(
				reference_doctype="CRM Deal",
				reference_name=n["D3"],
				assigned_to=sales3,
				due_on="2031-12-01 10:00:00",
			).name
		with self.freeze_time(at_noon(NOW)):
			self.make_calls_and_complaints()

	def make_calls_and_complaints(self):
		n, sales1, sales3 = self.n, email("sales1"), email("sales3")
		for key, manager, started, direction in (
			("K1", sales1, "2031-11-10", "Outbound"),
			("K2", sales1, "2031-07-01", "Inbound"),
			("K3", sales3, "2031-11-01", "Inbound"),
		):
			n[key] = factories.make_call(
				client=n["C1"],
				manager=manager,
				started_at=at_noon(started),
				direction=direction,
				duration=120,
			).name
		n["P1"] = factories.make_complaint(
			n["C1"], responsible=sales1, received_on="2031-11-01 09:00:00", subject="Брак"
		).name
		n["P2"] = factories.make_complaint(
			n["C1"],
			responsible=sales1,
			received_on="2031-09-01 09:00:00",
			status="Resolved",
			resolved_on="2031-09-03 09:00:00",
			resolution="Заменили",
			subject="Сроки",
		).name

	def report(self, user: str, **filters):
		with self.freeze_time(at_noon(NOW)):
			return run_report(REPORT, user, **filters)


class TestClient360Report(Client360Data, SalesOrgTestCase):
	def test_the_director_sees_everything_about_the_client(self):
		self.make_dataset()
		n = self.n
		result = self.report(email("director"), client=n["C1"])
		self.assertEqual(
			sections(result),
			{
				# open deals first, newest first
				"deals": ("Deals: 3", [n["D3"], n["D1"], n["D2"]]),
				"orders": ("Orders: 3", [n["O1"], n["O2"], n["O3"]]),
				"counterparties": (
					"Counterparties: 2",
					sorted([n["CP1"], n["CP2"]], key=self.counterparty_name),
				),
				"contacts": ("Contacts: 1", [n["contact"]]),
				"calls": ("Calls: 3", [n["K1"], n["K3"], n["K2"]]),
				# open tasks first, latest due first
				"tasks": ("Tasks: 3", [n["T3"], n["T1"], n["T2"]]),
				"complaints": ("Complaints: 2", [n["P1"], n["P2"]]),
			},
		)
		# section totals: open deals 1000 + 4000; orders 2700, paid 2200, debt 500; counterparties' debt
		# 300 + 200 and turnover 5000 + 7000
		self.assertEqual(head(result, "deals")["amount"], 5000.0)
		self.assertEqual(
			[head(result, "orders")[k] for k in ("amount", "paid", "debt")], [2700.0, 2200.0, 500.0]
		)
		self.assertEqual([head(result, "counterparties")[k] for k in ("amount", "debt")], [12000.0, 500.0])
		o1 = next(row for row in result.result if row.get("reference_name") == n["O1"])
		self.assertEqual((o1["amount"], o1["paid"], o1["debt"]), (1500, 1000, 500.0))
		cards = summary(result)
		self.assertEqual(
			{k: v for k, v in cards.items() if k != "Last Activity"},
			{
				"Turnover": 12000.0,
				"Debt": 500.0,
				"Open Deals": 2,
				"Open Deals Amount": 5000.0,
				"Won Amount": 2000.0,
				"Orders Amount": 2700.0,
				"Paid": 2200.0,
				"Calls in 90 Days": 2,  # K1 and K3; K2 is 137 days old
				"Open Tasks": 2,
				"Overdue Tasks": 1,  # T1, due the day before
				"Open Complaints": 1,
			},
		)
		# the task done on D1 on 11-12 is the latest activity (calls: 11-10; deals created by 11-05)
		self.assertEqual(cards["Last Activity"].date(), datetime.date(2031, 11, 12))
		# orders and payments of December 2030 - November 2031
		self.assertEqual(result.chart["data"]["labels"][0], "2030-12")
		self.assertEqual(result.chart["data"]["labels"][-1], "2031-11")
		amounts, paid = (d["values"] for d in result.chart["data"]["datasets"])
		self.assertEqual((amounts[6], paid[6]), (500.0, 500.0))  # 2031-06
		self.assertEqual((amounts[10], paid[10]), (1500.0, 1000.0))  # 2031-10
		self.assertEqual(sum(amounts), 2000.0)

	def counterparty_name(self, name: str) -> str:
		return frappe.db.get_value("CRM Counterparty", name, "full_name")

	def test_a_counterparty_narrows_deals_and_orders(self):
		self.make_dataset()
		n = self.n
		got = sections(self.report(email("director"), counterparty=n["CP1"]))
		self.assertEqual(got["deals"], ("Deals: 1", [n["D1"]]))
		self.assertEqual(got["orders"], ("Orders: 2", [n["O2"], n["O3"]]))
		self.assertEqual(got["counterparties"], ("Counterparties: 1", [n["CP1"]]))
		self.assertEqual(got["complaints"][0], "Complaints: 2")  # the client's
		# the same with the client named too; another client's counterparty is refused
		self.assertEqual(sections(self.report(email("director"), client=n["C1"], counterparty=n["CP1"])), got)
		other = factories.make_client().name
		with self.assertRaises(ReportFilterError):
			self.report(email("director"), client=other, counterparty=n["CP1"])

	def test_each_role_sees_its_own_part(self):
		self.make_dataset()
		n = self.n
		got = sections(self.report(email("sales1"), client=n["C1"]))
		self.assertEqual(got["deals"], ("Deals: 2", [n["D1"], n["D2"]]))
		self.assertEqual(got["orders"], ("Orders: 3", [n["O1"], n["O2"], n["O3"]]))
		self.assertEqual(got["calls"], ("Calls: 2", [n["K1"], n["K2"]]))
		self.assertEqual(got["tasks"], ("Tasks: 2", [n["T1"], n["T2"]]))
		self.assertEqual(got["complaints"], ("Complaints: 2", [n["P1"], n["P2"]]))
		cards = summary(self.report(email("sales1"), client=n["C1"]))
		self.assertEqual(
			(cards["Open Deals"], cards["Open Deals Amount"], cards["Calls in 90 Days"]), (1, 1000.0, 1)
		)
		# head_b sees the client through sales3's deal: sales3's deal, call and task
		got = sections(self.report(email("head_b"), client=n["C1"]))
		self.assertEqual(got["deals"], ("Deals: 1", [n["D3"]]))
		self.assertEqual(got["calls"], ("Calls: 1", [n["K3"]]))
		self.assertEqual(got["tasks"], ("Tasks: 1", [n["T3"]]))
		# a client or counterparty the user does not see is refused as if it did not exist
		for fieldname, label, value in (
			("client", "Client", n["C1"]),
			("counterparty", "Counterparty", n["CP1"]),
			("client", "Client", "CL-NO-SUCH"),
		):
			with self.assertRaises(ReportFilterError) as refused:
				self.report(email("sales2"), **{fieldname: value})
			self.assertEqual(str(refused.exception), f"{label}: <strong>{value}</strong> not found")

	def test_section_links_open_the_same_records(self):
		self.make_dataset()
		n = self.n
		for user in (email("sales1"), email("director")):
			result = self.report(user, client=n["C1"])
			for row in result.result:
				if row.get("is_section") and row.get("list_link"):
					count = int(row["description"].rsplit(": ", 1)[1])
					self.assertEqual(
						len(records_behind(row["list_link"], user)), count, (user, row["section"])
					)

	def test_a_client_with_nothing(self):
		client = factories.make_client().name
		result = self.report(email("director"), client=client)
		self.assertEqual(
			[row["description"] for row in result.result],
			[
				"Deals: 0",
				"Orders: 0",
				"Counterparties: 0",
				"Contacts: 0",
				"Calls: 0",
				"Tasks: 0",
				"Complaints: 0",
			],
		)
		self.assertIsNone(result.chart)
		self.assertIsNone(summary(result)["Last Activity"])

	def test_bad_filters_are_refused(self):
		for filters in ({}, {"client": ["x"]}, {"counterparty": "No Such"}, {"client": "No Such"}):
			with self.assertRaises(ReportFilterError, msg=filters):
				self.report(email("director"), **filters)
		with self.assertRaises(frappe.PermissionError):
			self.report(factories.make_user(roles=("Blogger",)).name, client=factories.make_client().name)


class TestClient360OverREST(SalesOrgRestTestCase):
	def test_rest(self):
		client = self.track("CRM Client", factories.make_client(responsible=email("sales1")).name)
		deal = self.track(
			"CRM Deal", factories.make_deal(client, responsible=email("sales1"), amount=100).name
		)
		frappe.db.commit()
		r = self.rest_call(
			"frappe.desk.query_report.run",
			{"report_name": REPORT, "filters": {"client": client}},
			user=email("sales1"),
		)
		self.assertEqual(r.status_code, 200, r.text)
		self.assertIn(deal, [row.get("reference_name") for row in r.data["result"]])
		r = self.rest_call(
			"frappe.desk.query_report.run",
			{"report_name": REPORT, "filters": {"client": client}},
			user=email("sales3"),
		)
		self.assertEqual(r.status_code, 417, r.text)
		self.assertNotIn(deal, r.text)
