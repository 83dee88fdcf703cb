"""The daily digest: once a day at the set hour, one e-mail per head of sales and director, in their
language, listing what changed in the last 24 hours in their scope only.

The job commits (one recipient at a time, as the scheduler runs it), so these tests commit what they make
and remove it again afterwards. The clock is frozen in 2021, so the period holds this test's records only.
Team A: head_a, sales1, sales2; team B: head_b, sales3; the director sees everything.
"""

import datetime
import email as email_parser
from email.header import decode_header, make_header
from unittest import mock

import frappe
from frappe.utils import fmt_money

from simple_crm.automation import digest
from simple_crm.tests import factories
from simple_crm.tests.sales_org import SalesOrgTestCase, email
from simple_crm.tests.utils import CommittedSettings

HOUR = 7
DAY = datetime.datetime(2021, 6, 15)
RUN_AT = DAY.replace(hour=HOUR, minute=5)  # the hourly run of the digest hour
IN_PERIOD = DAY - datetime.timedelta(hours=15)  # 2021-06-14 16:00
BEFORE_PERIOD = DAY - datetime.timedelta(hours=30)  # 2021-06-14 01:00, more than 24 hours before 07:00
RECIPIENTS = ("head_a", "head_b", "director")
NOTHING = "digest: nothing to do"


class Crash(BaseException):
	"""Ends a job run the way a killed worker does: nothing after it runs, nothing catches it."""


def hours(n: float) -> datetime.timedelta:
	return datetime.timedelta(hours=n)


def queued_digests(user: str) -> list[frappe._dict]:
	"""The digests queued for `user` (subject and HTML body, decoded from the queued message)."""
	queue = frappe.qb.DocType("Email Queue")
	recipients = frappe.qb.DocType("Email Queue Recipient")
	rows = (
		frappe.qb.from_(queue)
		.join(recipients)
		.on(recipients.parent == queue.name)
		.select(queue.name, queue.message)
		.where(
			(recipients.recipient == user)
			& (queue.creation >= DAY - hours(24))
			& (queue.creation < DAY + hours(48))
		)
		.orderby(queue.creation)
		.run(as_dict=True)
	)
	found = []
	for row in rows:
		message = email_parser.message_from_string(row.message)
		subject = str(make_header(decode_header(message["Subject"])))
		html = ""
		for part in message.walk():
			if part.get_content_type() == "text/html":
				html += part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
		found.append(frappe._dict(name=row.name, subject=subject, html=html))
	return found


def remove(records: list[tuple[str, str]]) -> None:
	"""The records, and every e-mail and digest mark of the frozen days (only these tests live in 2021)."""
	frappe.db.rollback()
	frappe.set_user("Administrator")
	queued = frappe.get_all(
		"Email Queue",
		filters=[["creation", ">=", DAY - hours(48)], ["creation", "<", DAY + hours(48)]],
		pluck="name",
	)
	if queued:
		frappe.db.delete("Email Queue Recipient", {"parent": ("in", queued)})
		frappe.db.delete("Email Queue", {"name": ("in", queued)})
	frappe.db.delete("CRM Automation Mark", {"job": digest.JOB, "marked_on": ("<", DAY + hours(48))})
	for doctype, name in reversed(records):
		if doctype == "CRM Deal":
			frappe.db.delete("Version", {"ref_doctype": "CRM Deal", "docname": name})
		if doctype == "CRM Lead":
			for task in frappe.get_all("CRM Task", {"reference_name": name}, pluck="name"):
				frappe.delete_doc("CRM Task", task, force=True, ignore_permissions=True)
		if frappe.db.exists(doctype, name):
			frappe.delete_doc(doctype, name, force=True, ignore_permissions=True)
	frappe.db.commit()


class DigestTestCase(CommittedSettings, SalesOrgTestCase):
	def setUp(self):
		super().setUp()
		self.records: list[tuple[str, str]] = []
		self.addCleanup(lambda: remove(self.records))
		self.set_automation(daily_digest_enabled=1, daily_digest_hour=HOUR, automation_batch_size=500)

	def set_language(self, key: str, language: str) -> None:
		before = frappe.db.get_value("User", email(key), "language")
		frappe.db.set_value("User", email(key), "language", language)
		frappe.db.commit()

		def restore():
			frappe.db.set_value("User", email(key), "language", before)
			frappe.db.commit()

		self.addCleanup(restore)

	def track(self, doctype: str, name: str) -> str:
		self.records.append((doctype, name))
		return name

	def lead(self, manager: str, when: datetime.datetime = IN_PERIOD) -> str:
		with self.freeze_time(when):
			name = factories.make_lead(
				lead_name=factories.unique("Лид "), company_name=None, responsible=email(manager)
			).name
		frappe.db.commit()
		return self.track("CRM Lead", name)

	def deal(self, manager: str, stage: str | None = None, when=IN_PERIOD, **values) -> str:
		"""A deal made two days before the period and moved to `stage` at `when` (its version records it)."""
		with self.freeze_time(DAY - hours(48)):
			client = factories.make_client(responsible=email(manager))
			self.track("CRM Client", client.name)
			deal = factories.make_deal(
				client.name, responsible=email(manager), amount=values.pop("amount", 0)
			)
			self.track("CRM Deal", deal.name)
		if stage:
			with self.freeze_time(when):
				deal.reload()
				deal.stage = stage
				deal.update(values)
				deal.save(ignore_version=False)  # as outside tests: the move leaves its version
		frappe.db.commit()
		return deal.name

	def task(self, manager: str, due: datetime.datetime, **values) -> str:
		with self.freeze_time(DAY - hours(48)):
			name = factories.make_task(assigned_to=email(manager), due_on=due, **values).name
		frappe.db.commit()
		return self.track("CRM Task", name)

	def run_job(self, when: datetime.datetime = RUN_AT) -> str | None:
		with self.freeze_time(when):
			return digest.send_daily_digests()

	def the_digest(self, key: str) -> frappe._dict:
		digests = queued_digests(email(key))
		self.assertEqual(len(digests), 1, f"one digest for {key}")
		return digests[0]


class TestDigestScope(DigestTestCase):
	def setUp(self):
		super().setUp()
		self.lead_a = self.lead("sales1")
		self.lead_b = self.lead("sales3")
		self.old_lead_a = self.lead("sales2", when=BEFORE_PERIOD)
		self.moved_a = self.deal("sales1", "Proposal")
		self.won_a = self.deal("sales2", "Won", amount=150000)
		self.lost_b = self.deal(
			"sales3", "Lost", when=IN_PERIOD + hours(1), amount=70000, lost_reason="Price Too High"
		)
		self.overdue_a = self.task("sales1", DAY + hours(HOUR - 1))
		self.overdue_b = self.task("sales3", DAY - hours(20))
		self.not_due_a = self.task("sales2", DAY + hours(HOUR + 1))
		self.done_a = self.task("sales1", DAY - hours(5), status="Done", task_type="Other")

	def subject_of(self, doctype: str, name: str) -> str:
		fields = {"CRM Lead": "lead_name", "CRM Deal": "deal_name", "CRM Task": "subject"}
		return frappe.db.get_value(doctype, name, fields[doctype])

	def assert_lists(self, html: str, doctype: str, name: str) -> None:
		self.assertIn(self.subject_of(doctype, name), html, name)
		self.assertIn(f"/app/{frappe.scrub(doctype).replace('_', '-')}/{name}", html, f"a link to {name}")

	def assert_not_lists(self, html: str, doctype: str, name: str) -> None:
		self.assertNotIn(self.subject_of(doctype, name), html, name)
		self.assertNotIn(name, html)

	def test_get_list_for_a_user_applies_their_row_level_rules(self):
		# the digest reads as the system user with user=recipient: the recipient's rules, not the caller's
		head_a = frappe.get_list(
			"CRM Lead",
			filters={"name": ("in", [self.lead_a, self.lead_b])},
			pluck="name",
			user=email("head_a"),
		)
		director = frappe.get_list(
			"CRM Lead",
			filters={"name": ("in", [self.lead_a, self.lead_b])},
			pluck="name",
			user=email("director"),
		)
		self.assertEqual(frappe.session.user, "Administrator")
		self.assertEqual(head_a, [self.lead_a])
		self.assertEqual(sorted(director), sorted([self.lead_a, self.lead_b]))

	def test_a_head_of_sales_gets_their_team_only(self):
		self.run_job()
		html = self.the_digest("head_a").html
		for doctype, name in (
			("CRM Lead", self.lead_a),
			("CRM Deal", self.moved_a),
			("CRM Deal", self.won_a),
			("CRM Task", self.overdue_a),
		):
			self.assert_lists(html, doctype, name)
		for doctype, name in (
			("CRM Lead", self.lead_b),
			("CRM Lead", self.old_lead_a),
			("CRM Deal", self.lost_b),
			("CRM Task", self.overdue_b),
			("CRM Task", self.not_due_a),
			("CRM Task", self.done_a),
		):
			self.assert_not_lists(html, doctype, name)
		currency = frappe.db.get_value("CRM Deal", self.won_a, "currency")
		self.assertIn(frappe.utils.escape_html(fmt_money(150000, currency=currency)), html, "the won amount")
		self.assertIn("Qualification → Proposal", html)

		html_b = self.the_digest("head_b").html
		for doctype, name in (
			("CRM Lead", self.lead_b),
			("CRM Deal", self.lost_b),
			("CRM Task", self.overdue_b),
		):
			self.assert_lists(html_b, doctype, name)
		for doctype, name in (
			("CRM Lead", self.lead_a),
			("CRM Deal", self.won_a),
			("CRM Task", self.overdue_a),
		):
			self.assert_not_lists(html_b, doctype, name)

	def test_a_director_gets_everything(self):
		self.run_job()
		html = self.the_digest("director").html
		for doctype, name in (
			("CRM Lead", self.lead_a),
			("CRM Lead", self.lead_b),
			("CRM Deal", self.moved_a),
			("CRM Deal", self.won_a),
			("CRM Deal", self.lost_b),
			("CRM Task", self.overdue_a),
			("CRM Task", self.overdue_b),
		):
			self.assert_lists(html, doctype, name)
		self.assert_not_lists(html, "CRM Lead", self.old_lead_a)
		for heading in (
			"New leads: 2",
			"Deals won: 1",
			"Deals lost: 1",
			"Stage moves: 1",
			"Overdue tasks: 2",
		):
			self.assertIn(heading, " ".join(html.split()))

	def test_in_the_recipient_s_language(self):
		self.set_language("head_a", "ru")
		self.set_language("director", "en")
		self.run_job()
		russian = self.the_digest("head_a")
		self.assertIn("Новые лиды", russian.html)
		self.assertIn("Просроченные задачи", russian.html)
		self.assertTrue(russian.subject.startswith("Сводка CRM за"), russian.subject)
		english = self.the_digest("director")
		self.assertIn("New leads", english.html)
		self.assertNotIn("Новые лиды", english.html)
		self.assertTrue(english.subject.startswith("CRM digest for"), english.subject)


class TestDigestOncePerDay(DigestTestCase):
	def setUp(self):
		super().setUp()
		self.lead("sales1")  # for head_a and the director

	def test_nothing_before_the_hour_then_once_per_recipient(self):
		self.lead("sales3")
		self.assertEqual(self.run_job(RUN_AT - hours(1)), NOTHING)
		for key in RECIPIENTS:
			self.assertEqual(queued_digests(email(key)), [], key)
		self.run_job()
		self.run_job(RUN_AT + datetime.timedelta(minutes=30))
		self.assertEqual(self.run_job(RUN_AT + hours(1)), NOTHING)
		for key in RECIPIENTS:
			self.assertEqual(len(queued_digests(email(key))), 1, key)
		self.lead("sales1", when=DAY + hours(12))
		self.lead("sales3", when=DAY + hours(12))
		self.run_job(RUN_AT + hours(24))
		for key in RECIPIENTS:
			self.assertEqual(len(queued_digests(email(key))), 2, f"the next day's digest for {key}")

	def test_switched_off_sends_nothing(self):
		self.set_automation(daily_digest_enabled=0)
		self.assertEqual(self.run_job(), NOTHING)
		for key in RECIPIENTS:
			self.assertEqual(queued_digests(email(key)), [], key)

	def test_a_day_whose_hour_passed_without_a_run_is_skipped_not_sent_late(self):
		self.assertEqual(self.run_job(RUN_AT + hours(2)), NOTHING)
		for key in RECIPIENTS:
			self.assertEqual(queued_digests(email(key)), [], key)

	def test_nothing_in_scope_no_e_mail(self):
		summary = self.run_job()
		self.assertIn("nothing to report", summary, "head_b has nothing today")
		self.assertEqual(queued_digests(email("head_b")), [])
		self.assertEqual(len(queued_digests(email("head_a"))), 1)
		self.assertTrue(
			frappe.db.exists("CRM Automation Mark", digest.recipient_key(self.period(), email("head_b")))
		)

	def period(self) -> digest.Period:
		return digest.Period(start=DAY + hours(HOUR - 24), end=DAY + hours(HOUR), now=RUN_AT)

	def test_a_crash_half_way_is_finished_by_the_next_run(self):
		self.lead("sales3")
		real_render = digest.render
		calls = []

		def dies_on_the_second(*args, **kwargs):
			calls.append(args)
			if len(calls) == 2:
				raise Crash
			return real_render(*args, **kwargs)

		with mock.patch.object(digest, "render", dies_on_the_second):
			with self.assertRaises(Crash):
				self.run_job()
		# the worker rolls back what the dead run had not committed
		frappe.db.rollback()
		first, crashed = calls[0][0], calls[1][0]
		self.assertEqual(len(queued_digests(first)), 1, "the first recipient's digest is committed")
		self.assertEqual(queued_digests(crashed), [], "the second's is gone with the crash")
		self.run_job(RUN_AT + hours(1))  # the next hourly run finishes the started day
		for key in RECIPIENTS:
			self.assertEqual(len(queued_digests(email(key))), 1, key)
		self.run_job(RUN_AT + hours(2))
		for key in RECIPIENTS:
			self.assertEqual(len(queued_digests(email(key))), 1, key)

	def test_a_run_is_bounded_by_the_batch_size(self):
		self.lead("sales3")
		self.set_automation(automation_batch_size=1)
		summary = self.run_job()
		self.assertIn("more left for the next run", summary)
		self.assertLessEqual(sum(len(queued_digests(email(key))) for key in RECIPIENTS), 1)
		for hour in range(1, 12):
			if not digest.pending_recipients(self.period()):
				break
			self.run_job(RUN_AT + hours(hour))
		for key in RECIPIENTS:
			self.assertEqual(len(queued_digests(email(key))), 1, key)
