"""The nightly client jobs: activity level, ABC class, tasks ahead of birthdays and important dates.

The jobs commit as the scheduler runs them, so these tests commit the records they make and remove them
again afterwards. The clock is frozen years ahead (2035-2036), where no other test's records have dates, so
the ABC totals of the window are this test's alone; everything the jobs make under that clock (tasks,
marks, versions) is removed too.
"""

import datetime
from unittest import mock

import frappe
from frappe.utils import add_days, formatdate, get_datetime, getdate

from simple_crm.automation import client_classes, important_dates
from simple_crm.tests import factories
from simple_crm.tests.sales_org import SalesOrgTestCase, email
from simple_crm.tests.utils import CommittedSettings

# the nightly run of the activity and ABC tests
TODAY = datetime.date(2035, 6, 15)
NIGHT = datetime.datetime(2035, 6, 15, 1, 30)
# the day the clients of the activity and ABC tests are made, unless said otherwise
LONG_AGO = datetime.date(2032, 9, 18)
# the clock of these tests starts here: what the jobs make after it is theirs
FROZEN_FROM = datetime.datetime(2030, 1, 1)


class Crash(BaseException):
	"""Ends a job run the way a killed worker does: nothing after it runs, nothing catches it."""


def at_noon(day: datetime.date) -> datetime.datetime:
	return datetime.datetime.combine(day, datetime.time(12, 0))


def days_ago(n: int) -> datetime.date:
	return add_days(TODAY, -n)


def levels(names) -> dict[str, str]:
	return dict(
		frappe.get_all(
			"CRM Client", filters={"name": ("in", list(names))}, fields=["name", "activity_level"], as_list=1
		)
	)


def classes(names) -> dict[str, str]:
	return dict(
		frappe.get_all(
			"CRM Client", filters={"name": ("in", list(names))}, fields=["name", "abc_class"], as_list=1
		)
	)


def versions_of(client: str) -> list[list]:
	rows = frappe.get_all(
		"Version",
		filters={"ref_doctype": "CRM Client", "docname": client},
		fields=["data"],
		order_by="creation",
	)
	return [frappe.parse_json(row.data)["changed"] for row in rows]


class ClientJobsTestCase(CommittedSettings, SalesOrgTestCase):
	def setUp(self):
		super().setUp()
		self.made: list[tuple[str, str]] = []
		self.addCleanup(self.remove_made)

	def keep(self, doc):
		"""Remember `doc` for the clean-up and commit it (the jobs run in committed transactions)."""
		self.made.append((doc.doctype, doc.name))
		frappe.db.commit()
		return doc

	def remove_made(self):
		frappe.db.rollback()
		frappe.set_user("Administrator")
		# what the jobs made under the frozen clock
		tasks = frappe.get_all(
			"CRM Task", filters={"creation": (">=", FROZEN_FROM), "owner": "Administrator"}, pluck="name"
		)
		if tasks:
			frappe.db.delete("Notification Log", {"document_name": ("in", tasks)})
			frappe.db.delete("ToDo", {"reference_type": "CRM Task", "reference_name": ("in", tasks)})
		for task in tasks:
			frappe.delete_doc("CRM Task", task, force=True, ignore_permissions=True)
		frappe.db.delete("CRM Automation Mark", {"marked_on": (">=", FROZEN_FROM)})
		frappe.db.delete("Version", {"creation": (">=", FROZEN_FROM)})
		for doctype, name in reversed(self.made):
			if frappe.db.exists(doctype, name):
				frappe.delete_doc(doctype, name, force=True, ignore_permissions=True)
		frappe.db.commit()

	# --- records at a given day --------------------------------------------------------------------------

	def client(self, created: datetime.date = LONG_AGO, **values) -> str:
		with self.freeze_time(at_noon(created)):
			return self.keep(factories.make_client(responsible=email("sales1"), **values)).name

	def contact(self, client: str | None = None, **values) -> str:
		return self.keep(factories.make_contact(client, **values)).name

	def order(self, client: str, day: datetime.date, amount: float = 1000) -> str:
		with self.freeze_time(at_noon(day)):
			return self.keep(factories.make_order(client=client, amount=amount, order_date=day)).name

	def open_deal(self, client: str, day: datetime.date, amount: float = 1000) -> str:
		with self.freeze_time(at_noon(day)):
			deal = factories.make_deal(client, amount=amount, responsible=email("sales1"))
			return self.keep(deal).name

	def won_deal(self, client: str, won_on: datetime.date, amount: float) -> str:
		"""A deal won on `won_on` (moved to the Won stage that day, as a manager does)."""
		with self.freeze_time(at_noon(won_on)):
			name = self.keep(factories.make_deal(client, amount=amount, responsible=email("sales1"))).name
			deal = frappe.get_doc("CRM Deal", name)
			deal.stage = "Won"
			deal.save()
			frappe.db.commit()
		self.assertEqual((deal.stage_type, getdate(deal.won_on)), ("Won", won_on))
		return deal.name

	def call(self, day: datetime.date, **values) -> str:
		with self.freeze_time(at_noon(day)):
			call = factories.make_call(manager=email("sales1"), started_at=at_noon(day), **values)
			return self.keep(call).name

	def task(self, day: datetime.date, **values) -> str:
		with self.freeze_time(at_noon(day)):
			task = factories.make_task(task_type="Other", assigned_to=email("sales1"), **values)
			return self.keep(task).name

	def received_mail(self, day: datetime.date, client: str) -> str:
		"""An e-mail from the client's address, filed on the client's timeline (as Frappe files the mail of a
		contact's address on the contact's client)."""
		with self.freeze_time(at_noon(day)):
			mail = frappe.get_doc(
				{
					"doctype": "Communication",
					"communication_type": "Communication",
					"communication_medium": "Email",
					"sent_or_received": "Received",
					"subject": "Заказ на следующий квартал",
					"content": "Добрый день!",
					"sender": factories.unique_email("client"),
					"communication_date": at_noon(day),
					"timeline_links": [{"link_doctype": "CRM Client", "link_name": client}],
				}
			).insert(ignore_permissions=True)
			return self.keep(mail).name


class TestActivityLevels(ClientJobsTestCase):
	"""Sleeping after 90 days, Lost after 365; the run is on 2035-06-15."""

	def setUp(self):
		super().setUp()
		self.set_automation(activity_level_enabled=1, sleeping_after_days=90, lost_after_days=365)

	def dataset(self) -> dict[str, str]:
		"""{client: expected level}, each client's last activity worked out by hand."""
		expected = {}

		def client(level: str, **values) -> str:
			name = self.client(**values)
			expected[name] = level
			return name

		# created yesterday, nothing else: its creation is its last activity
		client("Active", created=days_ago(1))
		# created in 2032, nothing since
		client("Lost")
		# last order 10 days ago
		self.order(client("Active"), days_ago(10))
		# an order 89 days ago: one day short of Sleeping
		self.order(client("Active"), days_ago(89))
		# an order exactly 90 days ago: Sleeping ("nothing for 90 days"); the older order does not matter
		c = client("Sleeping")
		self.order(c, days_ago(90))
		self.order(c, days_ago(400))
		# a deal won 364 days ago: Sleeping, one day short of Lost
		self.won_deal(client("Sleeping"), days_ago(364), 500)
		# a deal won exactly 365 days ago: Lost
		self.won_deal(client("Lost"), days_ago(365), 500)
		# an open deal made 5 days ago is no activity of the client, an answered call on it 5 days ago is
		# (the call takes the deal's client)
		c = client("Active")
		self.call(days_ago(5), deal=self.open_deal(c, days_ago(5)), direction="Outbound")
		# an outbound call nobody answered is not the client being in touch
		self.call(days_ago(5), client=client("Lost"), direction="Outbound", call_status="Missed")
		# a missed inbound call is: the client called, 100 days ago
		self.call(days_ago(100), client=client("Sleeping"), direction="Inbound", call_status="Missed")
		# a task about its contact, done 30 days ago
		c = client("Active")
		self.task(days_ago(30), reference_doctype="Contact", reference_name=self.contact(c), status="Done")
		# an open task about it, made 2 days ago, is no activity yet
		self.task(days_ago(2), reference_doctype="CRM Client", reference_name=client("Lost"))
		# an e-mail received from it 200 days ago
		self.received_mail(days_ago(200), client("Sleeping"))
		return expected

	def test_levels_worked_out_by_hand_and_only_changes_written(self):
		expected = self.dataset()
		# one client already has the right level, one a stale one
		already_lost = next(name for name, level in expected.items() if level == "Lost")
		stale = next(name for name, level in expected.items() if level == "Sleeping")
		frappe.db.set_value("CRM Client", already_lost, "activity_level", "Lost", update_modified=False)
		frappe.db.set_value("CRM Client", stale, "activity_level", "Active", update_modified=False)
		frappe.db.commit()
		modified_before = frappe.db.get_value("CRM Client", stale, "modified")

		with self.freeze_time(NIGHT):
			summary = client_classes.update_activity_levels()
		self.assertIn("now Sleeping", summary)
		self.assertEqual(levels(expected), expected)
		# the stale level's change is on the client's history, its `modified` untouched; the client whose
		# level was right has no new version, nor has a first classification (from no level)
		self.assertEqual(versions_of(stale), [[["activity_level", "Active", "Sleeping"]]])
		self.assertEqual(frappe.db.get_value("CRM Client", stale, "modified"), modified_before)
		self.assertEqual(versions_of(already_lost), [])
		first_time = next(name for name, level in expected.items() if level == "Active")
		self.assertEqual(versions_of(first_time), [])

		# a second run the same night changes nothing anywhere
		with self.freeze_time(NIGHT):
			again = client_classes.update_activity_levels()
		self.assertNotIn("now ", again)
		self.assertEqual(levels(expected), expected)

		# a day later, the clients one day short of a boundary cross it
		with self.freeze_time(NIGHT + datetime.timedelta(days=1)):
			client_classes.update_activity_levels()
		moved = levels(expected)
		changed = {name: (expected[name], moved[name]) for name in expected if moved[name] != expected[name]}
		self.assertEqual(
			sorted(changed.values()), [("Active", "Sleeping"), ("Sleeping", "Lost")], "89 -> 90, 364 -> 365"
		)

	def test_a_form_saved_after_the_night_keeps_the_nights_level(self):
		name = self.client()
		form = frappe.get_doc("CRM Client", name)  # opened before the night: no level yet
		with self.freeze_time(NIGHT):
			client_classes.update_activity_levels()
		self.assertEqual(levels([name]), {name: "Lost"})
		form.website = "https://example.com"
		form.activity_level = "Active"  # what a stale form or a crafted request sends
		form.save()
		self.assertEqual(levels([name]), {name: "Lost"})
		self.assertEqual(frappe.db.get_value("CRM Client", name, "website"), "https://example.com")

	def test_switched_off_changes_nothing(self):
		self.set_automation(activity_level_enabled=0)
		client = self.client()
		with self.freeze_time(NIGHT):
			client_classes.update_activity_levels()
		self.assertFalse(levels([client])[client])

	def test_a_crash_half_way_then_a_rerun_equals_one_clean_run(self):
		expected = self.dataset()
		real_write = client_classes.write
		calls = []

		def dies_on_the_second_chunk(*args, **kwargs):
			calls.append(args)
			if len(calls) == 2:
				raise Crash
			return real_write(*args, **kwargs)

		with self.freeze_time(NIGHT), mock.patch.object(client_classes, "write", dies_on_the_second_chunk):
			with self.assertRaises(Crash):
				client_classes.update_activity_levels(chunk_size=3)
		frappe.db.rollback()  # the worker's open transaction dies with it
		self.assertNotEqual(levels(expected), expected, "the run stopped before the end")
		with self.freeze_time(NIGHT):
			client_classes.update_activity_levels(chunk_size=3)
		self.assertEqual(levels(expected), expected)


class TestABCClasses(ClientJobsTestCase):
	"""Shares 80% (A) and 95% (A + B); the run is on 2035-06-15, the window 2034-06-16 to 2035-06-15."""

	def setUp(self):
		super().setUp()
		self.set_automation(abc_class_enabled=1, abc_a_share=80, abc_b_share=95, abc_basis="Won Revenue")

	def dataset(self) -> dict[str, str]:
		c = {key: self.client() for key in ("x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8")}
		# won revenue in the window
		self.won_deal(c["x1"], datetime.date(2034, 9, 1), 300)
		self.won_deal(c["x1"], TODAY, 200)  # x1: 500
		for key in ("x2", "x3", "x4"):
			self.won_deal(c[key], datetime.date(2035, 1, 10), 150)  # 150 each: a tie
		self.won_deal(c["x5"], datetime.date(2034, 6, 16), 50)  # the window's first day: 50
		self.won_deal(c["x6"], datetime.date(2034, 6, 15), 1000)  # a year ago today: outside
		self.open_deal(c["x8"], datetime.date(2035, 3, 1), 5000)  # not won
		# turnover in the window
		self.order(c["x7"], datetime.date(2035, 3, 1), 900)
		self.order(c["x1"], TODAY, 60)
		self.order(c["x5"], datetime.date(2034, 6, 16), 40)
		self.order(c["x6"], datetime.date(2034, 6, 15), 500)  # outside
		self.order(c["x2"], datetime.date(2035, 6, 16), 700)  # tomorrow: outside
		return c

	def assert_window_total(self, basis: str, total: int):
		"""The hand-worked shares hold only if the window holds this test's amounts alone."""
		totals = client_classes.abc_totals(basis, datetime.date(2034, 6, 15), TODAY)
		self.assertEqual(sum(t for _c, t in totals), total, f"{basis}: other records in the 2035 window")

	def test_classes_worked_out_by_hand_for_both_bases(self):
		c = self.dataset()
		# Won Revenue, total 500 + 3 x 150 + 50 = 1000. Ranked (share of the total before each client):
		#   x1 500 (0%) A; the tie 150, 150, 150 by name: 50% A, 65% A, 80% B (80 is not below 80);
		#   x5 50 (95%: not below 95) C; x6 (won a year ago today), x7 (orders only), x8 (open deal): C
		self.assert_window_total("Won Revenue", 1000)
		tie = sorted([c["x2"], c["x3"], c["x4"]])
		expected = {
			c["x1"]: "A",
			tie[0]: "A",
			tie[1]: "A",
			tie[2]: "B",
			c["x5"]: "C",
			c["x6"]: "C",
			c["x7"]: "C",
			c["x8"]: "C",
		}
		with self.freeze_time(NIGHT):
			client_classes.update_abc_classes()
		self.assertEqual(classes(c.values()), expected)
		with self.freeze_time(NIGHT):
			again = client_classes.update_abc_classes()
		self.assertNotIn("now ", again, "a second run changes nothing")
		self.assertEqual(versions_of(c["x1"]), [], "a first classification is no change of class")

		# Turnover, total 900 + 60 + 40 = 1000 (x6's order is a year old today, x2's dated tomorrow):
		#   x7 900 (0%) A; x1 60 (90%) B; x5 40 (96%) C; the others nothing: C
		self.set_automation(abc_basis="Turnover")
		self.assert_window_total("Turnover", 1000)
		with self.freeze_time(NIGHT):
			client_classes.update_abc_classes()
		self.assertEqual(
			classes(c.values()),
			{c["x7"]: "A", c["x1"]: "B", c["x5"]: "C"} | {c[k]: "C" for k in ("x2", "x3", "x4", "x6", "x8")},
		)
		self.assertEqual(versions_of(c["x1"]), [[["abc_class", "A", "B"]]])
		self.assertEqual(versions_of(c["x7"]), [[["abc_class", "C", "A"]]])

	def test_a_crash_half_way_then_a_rerun_equals_one_clean_run(self):
		c = self.dataset()
		self.assert_window_total("Won Revenue", 1000)
		tie = sorted([c["x2"], c["x3"], c["x4"]])
		expected = {c["x1"]: "A", tie[0]: "A", tie[1]: "A", tie[2]: "B"} | {
			c[k]: "C" for k in ("x5", "x6", "x7", "x8")
		}
		real_write = client_classes.write
		calls = []

		def dies_on_the_second_write(*args, **kwargs):
			calls.append(args)
			if len(calls) == 2:
				raise Crash
			return real_write(*args, **kwargs)

		with self.freeze_time(NIGHT), mock.patch.object(client_classes, "write", dies_on_the_second_write):
			with self.assertRaises(Crash):
				client_classes.update_abc_classes(chunk_size=1)
		frappe.db.rollback()
		self.assertNotEqual(classes(c.values()), expected, "the run stopped before the end")
		with self.freeze_time(NIGHT):
			client_classes.update_abc_classes(chunk_size=1)
		self.assertEqual(classes(c.values()), expected)

	def test_switched_off_changes_nothing(self):
		self.set_automation(abc_class_enabled=0)
		client = self.client()
		self.won_deal(client, TODAY, 100)
		with self.freeze_time(NIGHT):
			client_classes.update_abc_classes()
		self.assertFalse(classes([client])[client])

	def test_ranking_rule(self):
		rank = client_classes.abc_classes
		# the top client is A however small the A share: nobody is before it
		self.assertEqual(rank([("a", 99), ("b", 1)], 1, 2), {"a": "A", "b": "C"})
		# 60 / 30 / 10: before each 0%, 60%, 90% -> A, B (60 is not below 60), C (90 is not below 90)
		self.assertEqual(rank([("c", 10), ("a", 60), ("b", 30)], 60, 90), {"a": "A", "b": "B", "c": "C"})
		# ties by name, whatever order they come in; nothing or less than nothing is no class here (C)
		self.assertEqual(rank([("z", 50), ("y", 50), ("n", 0), ("m", -5)], 50, 100), {"y": "A", "z": "B"})
		# amounts as the database returns them (Decimal) and as floats give the same classes
		from decimal import Decimal

		self.assertEqual(
			rank([("a", Decimal("0.1")), ("b", 0.2)], 66.67, 100), rank([("a", 0.1), ("b", 0.2)], 66.67, 100)
		)


class TestImportantDates(ClientJobsTestCase):
	"""Three days ahead; 2035 is not a leap year, 2036 is."""

	NIGHT = datetime.datetime(2035, 2, 26, 1, 30)

	def setUp(self):
		super().setUp()
		self.set_automation(important_dates_enabled=1, important_date_days_ahead=3, automation_batch_size=500)

	def user(self, address: str, **values) -> str:
		"""A sales manager of these tests, made once and kept (like the organisation's users), enabled."""
		if frappe.db.exists("User", address):
			frappe.db.set_value("User", address, "enabled", 1)  # left disabled by the last run
		factories.make_user(address, roles=("CRM Sales Manager",))
		frappe.db.set_value("User", address, {"enabled": 1, **values})
		frappe.db.commit()
		return address

	def dataset(self) -> dict[tuple[str, str], tuple[str, str, str]]:
		"""{(doctype, name): (assignee, due day, task type)} of the tasks due by the run on 2035-02-26."""
		expected = {}
		org = self.client(
			client_type="Organisation",
			client_name="ООО Вектор",
			birthday="1970-02-26",  # an organisation's birthday field is not watched
			important_dates=[
				{"date_type": "Contract Date", "date": "2030-02-28", "remind": 1},
				{"date_type": "Foundation Day", "date": "2001-02-27", "remind": 0},
				# a contract date next year is reminded of when it comes
				{"date_type": "Contract Date", "date": "2036-02-27", "remind": 1},
			],
		)
		expected[("CRM Client", org)] = (email("sales1"), "2035-02-28", "Other")
		# today, the contact's own manager
		today = self.contact(org, crm_birthday="1980-02-26", crm_responsible=email("sales2"))
		expected[("Contact", today)] = (email("sales2"), "2035-02-26", "Call")
		# the window's last day, the client's manager (the contact has none)
		last_day = self.contact(org, crm_birthday="1990-03-01")
		expected[("Contact", last_day)] = (email("sales1"), "2035-03-01", "Call")
		# born on 29 February: 28 February in 2035
		leap = self.contact(crm_birthday="1988-02-29", crm_responsible=email("sales3"))
		expected[("Contact", leap)] = (email("sales3"), "2035-02-28", "Call")
		# a manager who left: the head of their team
		leaver = self.user("important.dates.leaver@example.com")
		team = frappe.get_doc(
			{
				"doctype": "CRM Sales Team",
				"team_name": "Important Dates Test Team",
				"head": email("head_b"),
				"members": [{"user": leaver}],
			}
		).insert(ignore_permissions=True)
		self.keep(team)
		left = self.contact(crm_birthday="1982-02-27", crm_responsible=leaver)
		frappe.db.set_value("User", leaver, "enabled", 0)
		frappe.db.commit()
		expected[("Contact", left)] = (email("head_b"), "2035-02-27", "Call")
		# an individual client; its contact (the same person, same birthday) gets no second task
		person = self.client(client_type="Individual", client_name="Пётр Орлов", birthday="1975-02-27")
		same_person = self.contact(person, first_name="Пётр", last_name="Орлов", crm_birthday="1975-02-27")
		expected[("CRM Client", person)] = (email("sales1"), "2035-02-27", "Call")
		# not this time: yesterday's, the day after the window, and nobody responsible
		yesterday = self.contact(org, crm_birthday="1990-02-25", crm_responsible=email("sales2"))
		self.later = self.contact(org, crm_birthday="1990-03-02", crm_responsible=email("sales2"))
		self.nobodys = self.contact(crm_birthday="1985-02-27")
		self.records = [
			org,
			today,
			last_day,
			leap,
			left,
			person,
			same_person,
			yesterday,
			self.later,
			self.nobodys,
		]
		return expected

	def tasks(self) -> dict[tuple[str, str], list[frappe._dict]]:
		found = {}
		for task in frappe.get_all(
			"CRM Task",
			filters={"reference_name": ("in", self.records), "creation": (">=", FROZEN_FROM)},
			fields=["reference_doctype", "reference_name", "assigned_to", "due_on", "task_type", "subject"],
		):
			found.setdefault((task.reference_doctype, task.reference_name), []).append(task)
		return found

	def as_expected(self) -> dict[tuple[str, str], tuple[str, str, str]]:
		"""The tasks made so far in the shape of `dataset()`'s answer; a record's second task fails it."""
		out = {}
		for key, tasks in self.tasks().items():
			self.assertEqual(len(tasks), 1, f"one task for {key}, not {len(tasks)}")
			task = tasks[0]
			self.assertEqual(get_datetime(task.due_on).time(), datetime.time(10, 0))
			out[key] = (task.assigned_to, str(get_datetime(task.due_on).date()), task.task_type)
		return out

	def test_one_task_per_date_within_the_window_for_the_responsible_manager(self):
		expected = self.dataset()
		with self.freeze_time(self.NIGHT):
			summary = important_dates.create_important_date_tasks()
		self.assertIn("nobody responsible", summary)
		self.assertEqual(self.as_expected(), expected)
		tasks = self.tasks()
		org_task = tasks[next(k for k in expected if k[0] == "CRM Client" and expected[k][2] == "Other")][0]
		self.assertEqual(org_task.subject, f"Contract Date: ООО Вектор on {formatdate('2035-02-28')}")
		person = next(k for k in expected if k[0] == "CRM Client" and expected[k][2] == "Call")
		self.assertEqual(tasks[person][0].subject, f"Birthday: Пётр Орлов on {formatdate('2035-02-27')}")

		# the same night again: nothing new
		with self.freeze_time(self.NIGHT):
			again = important_dates.create_important_date_tasks()
		self.assertNotIn("tasks created", again)
		self.assertEqual(self.as_expected(), expected)

		# the next night the birthday on 2 March enters the window; nothing else is made twice
		with self.freeze_time(self.NIGHT + datetime.timedelta(days=1)):
			important_dates.create_important_date_tasks()
		expected[("Contact", self.later)] = (email("sales2"), "2035-03-02", "Call")
		self.assertEqual(self.as_expected(), expected)

	def test_29_february_in_a_leap_year_and_the_next_years_task(self):
		leap = self.contact(crm_birthday="1988-02-29", crm_responsible=email("sales3"))
		self.records = [leap]
		with self.freeze_time(datetime.datetime(2035, 2, 28, 1, 30)):
			important_dates.create_important_date_tasks()
		# 2036 is a leap year: not on the 28th, on the 29th, and again a task, the year's own
		with self.freeze_time(datetime.datetime(2036, 2, 25, 1, 30)):
			important_dates.create_important_date_tasks()
		self.assertEqual(len(self.tasks()[("Contact", leap)]), 1, "25 February: the 29th is 4 days away")
		with self.freeze_time(datetime.datetime(2036, 2, 26, 1, 30)):
			important_dates.create_important_date_tasks()
		dues = sorted(str(get_datetime(t.due_on).date()) for t in self.tasks()[("Contact", leap)])
		self.assertEqual(dues, ["2035-02-28", "2036-02-29"])

	def test_subject_in_the_managers_language(self):
		manager = self.user("important.dates.ru@example.com", language="ru")
		contact = self.contact(
			first_name="Анна", last_name="Петрова", crm_birthday="1990-02-27", crm_responsible=manager
		)
		self.records = [contact]
		with self.freeze_time(self.NIGHT):
			important_dates.create_important_date_tasks()
		subject = self.tasks()[("Contact", contact)][0].subject
		self.assertEqual(subject, f"День рождения: Анна Петрова, {formatdate('2035-02-27')}")

	def test_switched_off_makes_nothing(self):
		self.set_automation(important_dates_enabled=0)
		self.dataset()
		with self.freeze_time(self.NIGHT):
			important_dates.create_important_date_tasks()
		self.assertEqual(self.tasks(), {})

	def test_bounded_runs_and_a_crash_half_way_end_as_one_clean_run(self):
		expected = self.dataset()
		self.set_automation(automation_batch_size=2)
		with self.freeze_time(self.NIGHT):
			first = important_dates.create_important_date_tasks()
		self.assertIn("more left for the next run", first)
		self.assertLessEqual(len(self.tasks()), 2)

		real_make_task = important_dates.make_task
		calls = []

		def dies_on_the_second(*args, **kwargs):
			calls.append(args)
			if len(calls) == 2:
				raise Crash
			return real_make_task(*args, **kwargs)

		with (
			self.freeze_time(self.NIGHT),
			mock.patch.object(important_dates, "make_task", dies_on_the_second),
		):
			with self.assertRaises(Crash):
				important_dates.create_important_date_tasks()
		frappe.db.rollback()  # the worker's open transaction dies with it
		self.assertLess(len(self.tasks()), len(expected), "the run stopped before the end")
		self.set_automation(automation_batch_size=500)
		with self.freeze_time(self.NIGHT):
			rerun = important_dates.create_important_date_tasks()
		self.assertNotIn("more left", rerun)
		self.assertEqual(self.as_expected(), expected)
