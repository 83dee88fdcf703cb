"""CRM Lead Conversion: a fixed set of leads in early 2034 whose numbers are worked out by hand below.

The report runs with the clock frozen at 2034-03-15 12:00 and the lead SLA set to 30 minutes. The leads (minutes from
received to first response in brackets; "-" never responded):

    sales1 (team A)  L1  2034-01-10 10:00  (20)  converted            on time
                     L2  2034-01-12 09:00  (60)  In Progress          breach: 60 > 30
                     L3  2034-01-20 15:00  (30)  converted            on time: exactly the SLA
                     L4  2034-01-31 23:59  (-)   New                  breach: the SLA passed long ago
                     L5  2034-03-01 08:00  (10)  Qualified            on time
                     L6  2034-03-15 11:45  (-)   New                  no breach yet: due 12:15
    sales2 (team A)  L7  2034-02-05 09:00  (45)  converted            breach
                     L8  2034-02-06 09:00  (15)  In Progress          on time
    sales3 (team B)  L9  2034-01-05 12:00  (5)   converted            on time
    nobody           L10 2034-02-20 10:00  (-)   New                  breach
    sales1, outside  L11 2033-12-31 23:59 and L12 2034-04-01 00:00 (the period is 2034-01-01..2034-03-31)
"""

import zlib
from datetime import datetime

import frappe
from frappe.desk.query_report import run as run_report

from simple_crm.conversion import convert_lead
from simple_crm.report_filters import ReportFilterError
from simple_crm.simple_crm.report.crm_lead_conversion.crm_lead_conversion import execute
from simple_crm.tests import factories
from simple_crm.tests.sales_org import SalesOrgRestTestCase, SalesOrgTestCase, email

REPORT = "CRM Lead Conversion"
NOW = datetime(2034, 3, 15, 12, 0)
PERIOD = {"from_date": "2034-01-01", "to_date": "2034-03-31"}
NOT_ASSIGNED = "Not assigned"


def make_lead(responsible, received, responded_after=None, status="New", convert=False, **kwargs):
	"""A lead received at `received`, first responded to `responded_after` minutes later."""
	values = {"received_on": received, "status": status, **kwargs}
	if responsible:
		values["responsible"] = email(responsible)
	if responded_after is not None:
		values["first_response_on"] = frappe.utils.add_to_date(received, minutes=responded_after)
		if status == "New":
			values["status"] = "In Progress"
	lead = factories.make_lead(**values)
	if convert:
		convert_lead(lead.name, create_deal=False)
	return lead


def make_leads():
	return {
		"L1": make_lead("sales1", datetime(2034, 1, 10, 10, 0), 20, convert=True),
		"L2": make_lead("sales1", datetime(2034, 1, 12, 9, 0), 60),
		"L3": make_lead("sales1", datetime(2034, 1, 20, 15, 0), 30, convert=True),
		"L4": make_lead("sales1", datetime(2034, 1, 31, 23, 59)),
		"L5": make_lead("sales1", datetime(2034, 3, 1, 8, 0), 10, status="Qualified"),
		"L6": make_lead("sales1", datetime(2034, 3, 15, 11, 45)),
		"L7": make_lead("sales2", datetime(2034, 2, 5, 9, 0), 45, convert=True),
		"L8": make_lead("sales2", datetime(2034, 2, 6, 9, 0), 15),
		"L9": make_lead("sales3", datetime(2034, 1, 5, 12, 0), 5, convert=True),
		"L10": make_lead(None, datetime(2034, 2, 20, 10, 0)),
		"L11": make_lead("sales1", datetime(2033, 12, 31, 23, 59), 10),
		"L12": make_lead("sales1", datetime(2034, 4, 1, 0, 0), 10),
	}


# (manager key or None, month, leads, converted, conversion %, responded, median minutes, SLA breaches)
SALES1_JAN = ("sales1", "2034-01", 4, 2, 50.0, 3, 30.0, 2)  # median of 20, 30, 60; breaches L2, L4
SALES1_MAR = ("sales1", "2034-03", 2, 0, 0.0, 1, 10.0, 0)  # L5 (10); L6 not due yet
SALES2_FEB = ("sales2", "2034-02", 2, 1, 50.0, 2, 30.0, 1)  # median (15 + 45) / 2 = 30; breach L7
SALES3_JAN = ("sales3", "2034-01", 1, 1, 100.0, 1, 5.0, 0)
NOBODY_FEB = (None, "2034-02", 1, 0, 0.0, 0, None, 1)  # L10 never responded: no median, a breach


def row_tuple(row):
	manager = next((key for key in ("sales1", "sales2", "sales3") if row["manager"] == email(key)), None)
	if row["manager"] and not manager:
		manager = row["manager"]
	return (
		manager,
		row["month"],
		row["leads"],
		row["converted"],
		row["conversion"],
		row["responded"],
		row["median_response_minutes"],
		row["sla_breaches"],
	)


def split(data):
	"""(rows as tuples, the total row)."""
	assert data[-1].get("is_total"), data[-1]
	return [row_tuple(r) for r in data[:-1]], data[-1]


def totals(total_row):
	return (
		total_row["leads"],
		total_row["converted"],
		total_row["conversion"],
		total_row["responded"],
		total_row["median_response_minutes"],
		total_row["sla_breaches"],
	)


class TestLeadConversionReport(SalesOrgTestCase):
	def setUp(self):
		super().setUp()
		frappe.db.set_single_value("Simple CRM Settings", "lead_sla_minutes", 30)
		self.leads = make_leads()

	def report(self, user="Administrator", **filters):
		frappe.set_user(email(user) if user != "Administrator" else user)
		try:
			with self.freeze_time(NOW):
				return execute(frappe._dict({**PERIOD, **filters}))
		finally:
			frappe.set_user("Administrator")

	def test_numbers_per_manager_and_month(self):
		columns, data, _message, chart, summary = self.report("director")
		rows, total = split(data)
		self.assertEqual(rows, [SALES1_JAN, SALES1_MAR, SALES2_FEB, SALES3_JAN, NOBODY_FEB])
		self.assertEqual(total["manager_name"], "Total")
		self.assertEqual(data[-1 - 1]["manager_name"], NOT_ASSIGNED)
		# 4 + 2 + 2 + 1 + 1 = 10 leads, 2 + 0 + 1 + 1 + 0 = 4 converted = 40 %; 3 + 1 + 2 + 1 + 0 = 7
		# responded, median of 5 10 15 20 30 45 60 = 20; breaches 2 + 0 + 1 + 0 + 1 = 4
		self.assertEqual(totals(total), (10, 4, 40.0, 7, 20.0, 4))
		self.assertEqual(
			[s["value"] for s in summary],
			[10, 4, 40.0, 20.0, 4],
		)
		# conversion per month: Jan L1 L2 L3 L4 L9 -> 3 of 5 = 60 %; Feb L7 L8 L10 -> 1 of 3 = 33.33 %;
		# Mar L5 L6 -> 0 of 2
		self.assertEqual(chart["data"]["labels"], ["2034-01", "2034-02", "2034-03"])
		self.assertEqual(chart["data"]["datasets"][0]["values"], [60.0, 33.33, 0])
		self.assertEqual(
			[c["fieldname"] for c in columns],
			[
				"manager",
				"manager_name",
				"month",
				"leads",
				"converted",
				"conversion",
				"responded",
				"median_response_minutes",
				"sla_breaches",
			],
		)
		# the drill-down opens the leads of the row
		self.assertIn("received_on=", data[0]["leads_link"])
		self.assertTrue(data[0]["leads_link"].startswith("/app/crm-lead?responsible="))

	def test_the_sla_comes_from_the_settings_and_the_clock(self):
		frappe.db.set_single_value("Simple CRM Settings", "lead_sla_minutes", 60)
		_columns, data, *_rest = self.report("director", manager=email("sales1"))
		# SLA 60: L2 (60) is on time now; L4 still a breach; L6 (15 minutes old) not yet
		self.assertEqual([r[7] for r in split(data)[0]], [1, 0])
		with self.freeze_time(datetime(2034, 3, 15, 12, 46)):
			_columns, data, *_rest = execute(frappe._dict({**PERIOD, "manager": email("sales1")}))
		# 12:46 is past L6's deadline (11:45 + 60 = 12:45): March has a breach now
		self.assertEqual([r[7] for r in split(data)[0]], [1, 1])

	def test_filters_narrow(self):
		rows, total = split(self.report("director", team="Process Test Team A")[1])
		self.assertEqual(rows, [SALES1_JAN, SALES1_MAR, SALES2_FEB])
		self.assertEqual(totals(total)[:2], (8, 3))
		rows, _total = split(self.report("director", manager=email("sales2"))[1])
		self.assertEqual(rows, [SALES2_FEB])
		# the manager of another team than the one asked for: nothing
		rows, total = split(self.report("director", manager=email("sales3"), team="Process Test Team A")[1])
		self.assertEqual(rows, [])
		self.assertEqual(totals(total), (0, 0, None, 0, None, 0))

		source = frappe.get_doc(
			{"doctype": "CRM Lead Source", "source_name": "Report Test Fair 2034", "channel": "Exhibition"}
		).insert()
		make_lead("sales2", datetime(2034, 2, 10, 9, 0), 90, source=source.name)
		rows, _total = split(self.report("director", source=source.name)[1])
		self.assertEqual(rows, [("sales2", "2034-02", 1, 0, 0.0, 1, 90.0, 1)])
		rows, _total = split(self.report("director", channel="Exhibition")[1])
		self.assertEqual(rows, [("sales2", "2034-02", 1, 0, 0.0, 1, 90.0, 1)])

	def test_empty_period_and_a_manager_without_leads(self):
		_columns, data, _message, chart, summary = self.report(
			"director", from_date="2034-06-01", to_date="2034-07-31"
		)
		self.assertEqual(len(data), 1)  # the total row alone
		self.assertEqual(totals(data[0]), (0, 0, None, 0, None, 0))
		self.assertEqual(chart["data"]["labels"], ["2034-06", "2034-07"])
		self.assertEqual(chart["data"]["datasets"][0]["values"], [0, 0])
		self.assertEqual([s["value"] for s in summary], [0, 0, 0, 0, 0])

		_columns, data, *_rest = self.report("director", manager=email("head_a"))
		self.assertEqual(totals(data[0]), (0, 0, None, 0, None, 0))

		# one day: 2034-01-10 holds L1 alone
		rows, _total = split(self.report("director", from_date="2034-01-10", to_date="2034-01-10")[1])
		self.assertEqual(rows, [("sales1", "2034-01", 1, 1, 100.0, 1, 20.0, 0)])

	def test_managers_whose_names_share_a_crc32_stay_apart(self):
		# the report groups by the CRC32 of the manager's name; these two names have the same one
		names = ("report.crc.29685295@example.com", "report.crc.32060020@example.com")
		self.assertEqual(zlib.crc32(names[0].encode()), zlib.crc32(names[1].encode()))
		for name in names:
			factories.make_user(name, roles=("CRM Sales Manager",))
		for name, received, minutes in (
			(names[0], datetime(2034, 8, 1, 9, 0), 10),
			(names[0], datetime(2034, 8, 2, 9, 0), 30),
			(names[1], datetime(2034, 8, 3, 9, 0), 50),
		):
			factories.make_lead(
				responsible=name,
				received_on=received,
				first_response_on=frappe.utils.add_to_date(received, minutes=minutes),
				status="In Progress",
			)
		rows, total = split(self.report("director", from_date="2034-08-01", to_date="2034-08-31")[1])
		# each its own row: 2 leads (median of 10 and 30 = 20) and 1 lead (50, a breach of the SLA of 30);
		# all three: median 30
		self.assertEqual(
			rows,
			[
				(names[0], "2034-08", 2, 0, 0.0, 2, 20.0, 0),
				(names[1], "2034-08", 1, 0, 0.0, 1, 50.0, 1),
			],
		)
		self.assertEqual(totals(total), (3, 0, 0.0, 3, 30.0, 1))

	def test_bad_filters_are_refused(self):
		bad = [
			{"from_date": "2034-13-01"},
			{"to_date": "tomorrow"},
			{"from_date": "2034-04-01", "to_date": "2034-03-01"},
			{"from_date": "2020-01-01", "to_date": "2034-03-01"},  # 171 months
			{"manager": "nobody@example.com"},
			{"team": "No Such Team"},
			{"source": "No Such Source"},
			{"channel": "Pigeon"},
		]
		for filters in bad:
			with self.subTest(filters=filters), self.assertRaises(ReportFilterError):
				self.report("director", **filters)
		with self.assertRaises(ReportFilterError):
			execute(frappe._dict({"to_date": "2034-03-01"}))  # no start

	def test_each_role_sees_its_own_rows(self):
		# a sales manager: their own leads only
		rows, total = split(self.report("sales1")[1])
		self.assertEqual(rows, [SALES1_JAN, SALES1_MAR])
		# 4 + 2 leads, 2 converted = 33.33 %, median of 10 20 30 60 = 25, 2 breaches
		self.assertEqual(totals(total), (6, 2, 33.33, 4, 25.0, 2))
		# ... and naming a colleague or another team gives nothing of theirs
		self.assertEqual(split(self.report("sales1", manager=email("sales2"))[1])[0], [])
		self.assertEqual(split(self.report("sales1", team="Process Test Team B")[1])[0], [])
		self.assertEqual(
			split(self.report("sales1", team="Process Test Team A")[1])[0], [SALES1_JAN, SALES1_MAR]
		)

		# the head of team A: the team's leads and those nobody is responsible for, not team B's
		rows, total = split(self.report("head_a")[1])
		self.assertEqual(rows, [SALES1_JAN, SALES1_MAR, SALES2_FEB, NOBODY_FEB])
		self.assertEqual(totals(total)[:2], (9, 3))
		self.assertEqual(split(self.report("head_a", manager=email("sales3"))[1])[0], [])
		self.assertEqual(split(self.report("head_a", team="Process Test Team B")[1])[0], [])

		# the head of team B
		rows, _total = split(self.report("head_b")[1])
		self.assertEqual(rows, [SALES3_JAN, NOBODY_FEB])

		# the director: everything (see test_numbers_per_manager_and_month)
		rows, _total = split(self.report("director")[1])
		self.assertEqual(len(rows), 5)

	def test_an_assigned_lead_is_seen_by_its_assignee(self):
		from frappe.desk.form.assign_to import add as assign

		assign({"doctype": "CRM Lead", "name": self.leads["L8"].name, "assign_to": [email("sales1")]})
		rows, _total = split(self.report("sales1")[1])
		# L8 (sales2's, 15 minutes, on time) now shows to sales1, under sales2
		self.assertEqual(rows, [SALES1_JAN, SALES1_MAR, ("sales2", "2034-02", 1, 0, 0.0, 1, 15.0, 0)])

	def test_run_as_the_desk_runs_it(self):
		frappe.set_user(email("sales1"))
		with self.freeze_time(NOW):
			result = run_report(REPORT, filters=PERIOD)
		frappe.set_user("Administrator")
		rows, total = split(result["result"])
		self.assertEqual(rows, [SALES1_JAN, SALES1_MAR])
		self.assertEqual(total["leads"], 6)

		# a user without a CRM role may not run it
		outsider = factories.make_user(factories.unique_email("outsider"), roles=("Blogger",))
		frappe.set_user(outsider.name)
		with self.assertRaises(frappe.PermissionError):
			run_report(REPORT, filters=PERIOD)


class TestLeadConversionReportOverREST(SalesOrgRestTestCase):
	def test_sales_manager_over_rest(self):
		# responded to within a minute: on time whatever SLA the site has
		mine = make_lead("sales1", datetime(2034, 5, 3, 10, 0), 1)
		theirs = make_lead("sales3", datetime(2034, 5, 4, 10, 0), 1)
		for lead in (mine, theirs):
			self.track("CRM Lead", lead.name)
		filters = {"from_date": "2034-05-01", "to_date": "2034-05-31"}

		r = self.rest_call(
			"frappe.desk.query_report.run",
			{"report_name": REPORT, "filters": frappe.as_json(filters)},
			user=email("sales1"),
		)
		self.assertEqual(r.status_code, 200, r.text)
		rows, total = split([frappe._dict(row) for row in r.data["result"]])
		self.assertEqual(rows, [("sales1", "2034-05", 1, 0, 0.0, 1, 1.0, 0)])
		self.assertEqual(total["leads"], 1)

		r = self.rest_call(
			"frappe.desk.query_report.run",
			{"report_name": REPORT, "filters": frappe.as_json({**filters, "manager": email("sales3")})},
			user=email("sales1"),
		)
		self.assertEqual(r.status_code, 200, r.text)
		self.assertEqual(len(r.data["result"]), 1)  # the total row alone
		self.assertEqual(r.data["result"][0]["leads"], 0)

		r = self.rest_call(
			"frappe.desk.query_report.run",
			{"report_name": REPORT, "filters": frappe.as_json({**filters, "team": "No Such Team"})},
			user=email("sales1"),
		)
		self.assertEqual(r.status_code, 417, r.text)
