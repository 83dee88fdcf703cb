"""The e-mail channel end to end, through real mail servers on loopback (simple_crm.integrations.email).

A private Dovecot serves the company's mailbox over IMAP and aiosmtpd takes what the site sends
(simple_crm.tests.mail_servers; the tests fail, never skip, when either is missing). The site's Email
Account "CRM Test Inbox" reads that mailbox and sends through that SMTP server; it is the CRM Inbox of the
settings and, for the class, the default outgoing account. Mail is put into the mailbox by IMAP APPEND, then
Frappe's own pull (`pull_from_email_account`, what its scheduled job runs) files it, and the tests look at what
the CRM made of it. The pull commits, so each test removes what it made.
"""

import time
from email import message_from_bytes
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

import frappe
from frappe.email.doctype.email_account.email_account import pull_from_email_account
from frappe.utils import add_to_date, now_datetime

from simple_crm.integrations import email as mail_channel
from simple_crm.tests import factories
from simple_crm.tests.mail_servers import Dovecot, SmtpServer
from simple_crm.tests.sales_org import TEST_OUTBOX, SalesOrgRestTestCase, email
from simple_crm.tests.test_channel_telegram import drop_job, run_job
from simple_crm.tests.utils import require_lead_company

SETTINGS = "Simple CRM Settings"
LOG = "CRM Integration Log"
INBOX = "CRM Test Inbox"
INBOX_ADDRESS = "sales@crm-mail.test"
INBOX_PASSWORD = "inbox-password-0123"
COMPANY_DOMAIN = "crm-mail.test"
CHANNEL_SETTINGS = {
	"email_inbox": INBOX,
	"email_create_leads": 1,
	"email_lead_source": "E-mail",
	"email_own_domains": COMPANY_DOMAIN,
}


def client_address(prefix: str = "client") -> str:
	"""An address nobody on the site has (the client's domain)."""
	return f"{prefix}.{frappe.generate_hash(length=10)}@client-mail.test"


def message(
	sender: str | None,
	subject: str = "Запрос цены",
	body: str = "Здравствуйте! Сколько стоят 20 стеллажей с доставкой в Казань?",
	message_id: str | bool | None = True,
	headers: dict | None = None,
	date: float | None = None,
	to: str = INBOX_ADDRESS,
) -> bytes:
	"""A message as a mail client writes it (UTF-8, encoded headers)."""
	msg = EmailMessage()
	if sender is not None:
		msg["From"] = sender
	msg["To"] = to
	msg["Subject"] = subject
	msg["Date"] = formatdate(date or time.time(), localtime=True)
	if message_id is True:
		msg["Message-ID"] = make_msgid(domain="client-mail.test")
	elif message_id:
		msg["Message-ID"] = message_id
	for name, value in (headers or {}).items():
		msg[name] = value
	msg.set_content(body)
	return msg.as_bytes()


def message_id_of(raw: bytes) -> str:
	return message_from_bytes(raw)["Message-ID"].strip().strip("<>")


class EmailTestCase(SalesOrgRestTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.imap = Dovecot({INBOX_ADDRESS: INBOX_PASSWORD}).start()
		try:
			cls.smtp = SmtpServer({INBOX_ADDRESS: INBOX_PASSWORD}).start()
		except Exception:
			cls.imap.stop()
			raise
		# what every request and job of the site does first (hooks.py before_request / before_job)
		mail_channel.install()
		frappe.set_user("Administrator")
		if frappe.db.exists("Email Account", INBOX):
			frappe.delete_doc("Email Account", INBOX, force=True, ignore_permissions=True)
		frappe.get_doc(
			{
				"doctype": "Email Account",
				"email_account_name": INBOX,
				"email_id": INBOX_ADDRESS,
				"password": INBOX_PASSWORD,
				"enable_incoming": 1,
				"use_imap": 1,
				"email_server": "127.0.0.1",
				"incoming_port": str(cls.imap.port),
				"use_ssl": 0,
				"use_starttls": 0,
				"imap_folder": [{"folder_name": "INBOX"}],
				"email_sync_option": "UNSEEN",
				"enable_outgoing": 1,
				"default_outgoing": 1,
				"smtp_server": "127.0.0.1",
				"smtp_port": str(cls.smtp.port),
				"no_smtp_authentication": 0,
				"use_tls": 0,
				"track_email_status": 0,
			}
		).insert(ignore_permissions=True)
		cls.saved_settings = cls.change_settings(CHANNEL_SETTINGS)
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		frappe.db.rollback()
		frappe.set_user("Administrator")
		try:
			cls.change_settings(cls.saved_settings)
			if frappe.db.exists("Email Account", TEST_OUTBOX):
				outbox = frappe.get_doc("Email Account", TEST_OUTBOX)
				outbox.default_outgoing = 1
				outbox.save(ignore_permissions=True)
			frappe.db.delete("Communication", {"email_account": INBOX})
			frappe.delete_doc("Email Account", INBOX, force=True, ignore_permissions=True)
			frappe.db.commit()
		finally:
			cls.smtp.stop()
			cls.imap.stop()
			super().tearDownClass()

	@staticmethod
	def change_settings(values: dict) -> dict:
		doc = frappe.get_single(SETTINGS)
		before = {key: doc.get(key) for key in values}
		doc.update(values)
		doc.save(ignore_permissions=True)
		frappe.db.commit()
		return before

	def set_settings(self, **values) -> None:
		before = self.change_settings(values)
		self.addCleanup(lambda: (frappe.db.rollback(), self.change_settings(before)))

	def setUp(self):
		super().setUp()
		self.started = add_to_date(now_datetime(), seconds=-1)
		self.imap.empty(INBOX_ADDRESS)
		self.smtp.messages.clear()
		self.smtp.logins.clear()

	def tearDown(self):
		frappe.db.rollback()
		frappe.set_user("Administrator")
		since = {"creation": (">=", self.started)}
		leads = frappe.get_all("CRM Lead", filters=since, pluck="name")
		for lead in leads:
			drop_job(f"simple_crm:new-lead:{lead}")
		frappe.db.delete("Communication", {"communication_medium": "Email", **since})
		for doctype in ("Notification Log", "Email Queue", LOG):
			frappe.db.delete(doctype, since)
		frappe.db.delete("CRM Automation Mark", {"marked_on": (">=", self.started)})
		frappe.db.delete("ToDo", {"reference_type": "CRM Lead", "reference_name": ("in", leads or [""])})
		for task in frappe.get_all(
			"CRM Task", filters={"reference_name": ("in", leads or [""]), **since}, pluck="name"
		):
			frappe.delete_doc("CRM Task", task, force=True, ignore_permissions=True)
		frappe.db.delete("Email Queue Recipient", since)
		for lead in leads:
			# a lead marked converted by a test is history, which is never deleted
			frappe.db.set_value("CRM Lead", lead, {"status": "New", "client": None, "contact": None})
			frappe.delete_doc("CRM Lead", lead, force=True, ignore_permissions=True)
		frappe.db.commit()
		super().tearDown()

	# --- helpers -------------------------------------------------------------------------------------------

	def deliver(self, raw: bytes) -> bytes:
		self.imap.deliver(INBOX_ADDRESS, raw)
		return raw

	def pull(self) -> None:
		"""Frappe's pull of the inbox, as its scheduled job runs it (it commits per message)."""
		frappe.db.commit()
		pull_from_email_account(INBOX)
		frappe.db.commit()

	def received(self) -> list[frappe._dict]:
		return frappe.get_all(
			"Communication",
			filters={
				"email_account": INBOX,
				"sent_or_received": "Received",
				"creation": (">=", self.started),
			},
			fields=["name", "sender", "sender_full_name", "subject", "reference_doctype", "reference_name"],
			order_by="creation asc",
		)

	def leads_from(self, address: str) -> list[frappe._dict]:
		return frappe.get_all(
			"CRM Lead",
			filters={"email": address},
			fields=["name", "lead_name", "email", "channel", "source", "status", "interest", "received_on"],
		)

	def logs(self) -> list[frappe._dict]:
		return frappe.get_all(
			LOG,
			filters={"channel": "E-mail", "creation": (">=", self.started)},
			fields=[
				"status",
				"direction",
				"event_id",
				"summary",
				"error",
				"reference_doctype",
				"reference_name",
			],
			order_by="creation asc",
		)

	def links_of(self, communication: str) -> set[tuple[str, str]]:
		rows = frappe.get_all(
			"Communication Link", filters={"parent": communication}, fields=["link_doctype", "link_name"]
		)
		return {(row.link_doctype, row.link_name) for row in rows}

	def timeline(self, doctype: str, name: str, user: str) -> list[dict]:
		"""The e-mails the record's form shows `user` (the Desk's own call)."""
		r = self.request(
			"GET",
			f"/api/method/frappe.desk.form.load.get_communications?doctype={doctype}&name={name}",
			user,
		)
		self.assertEqual(r.status_code, 200, r.text)
		return r.data

	def written(self) -> dict[str, int]:
		since = {"creation": (">=", self.started)}
		return {
			"leads": frappe.db.count("CRM Lead", since),
			"contact points": frappe.db.count("CRM Contact Point", since),
			"tasks": frappe.db.count("CRM Task", since),
		}


class TestIncomingMail(EmailTestCase):
	def test_an_unknown_sender_becomes_one_lead_with_its_call_back_task(self):
		address = client_address()
		raw = self.deliver(message(f"Иван Петров <{address.upper()}>"))
		self.pull()
		[lead] = self.leads_from(address)
		self.assertEqual(lead.lead_name, "Иван Петров", "the name as the From header gives it")
		self.assertEqual((lead.channel, lead.source, lead.status), ("Email", "E-mail", "New"))
		self.assertIn("Запрос цены", lead.interest)
		self.assertIn("20 стеллажей", lead.interest)
		[mail] = self.received()
		self.assertEqual((mail.reference_doctype, mail.reference_name), ("CRM Lead", lead.name))
		self.assertEqual((mail.sender, mail.sender_full_name), (address, "Иван Петров"))
		[log] = self.logs()
		self.assertEqual(
			(log.status, log.direction, log.event_id, log.reference_doctype, log.reference_name),
			("Processed", "Inbound", message_id_of(raw), "CRM Lead", lead.name),
		)
		self.assertEqual(self.imap.count(INBOX_ADDRESS, "UNSEEN"), 0, "Frappe marked it read")
		# the new-lead automation's job, queued when the pull committed, makes the call-back task
		run_job(f"simple_crm:new-lead:{lead.name}")
		tasks = frappe.get_all(
			"CRM Task",
			filters={"reference_doctype": "CRM Lead", "reference_name": lead.name},
			pluck="assigned_to",
		)
		self.assertEqual(tasks, [email("head_a")], "nobody is responsible yet: a head of sales calls back")
		# the lead's timeline shows the message to whoever sees the lead
		[shown] = self.timeline("CRM Lead", lead.name, email("head_a"))
		self.assertEqual(shown["name"], mail.name)

	def test_the_same_message_fetched_twice_makes_one_lead(self):
		address = client_address()
		raw = message(f"Ольга <{address}>")
		self.deliver(raw)
		self.deliver(raw)  # a second copy of the same message (same Message-ID)
		self.pull()
		self.imap.mark_unread(INBOX_ADDRESS)  # and both read again
		self.pull()
		self.assertEqual(len(self.leads_from(address)), 1)
		self.assertEqual(len(self.received()), 1, "Frappe files a Message-ID once")
		self.assertEqual([log.status for log in self.logs()], ["Processed"])

	def test_a_message_without_message_id_twice_makes_one_lead_and_lands_twice_on_it(self):
		address = client_address()
		raw = message(f"Ольга <{address}>", message_id=None, date=time.time() - 60)
		self.deliver(raw)
		self.deliver(raw)
		self.pull()
		[lead] = self.leads_from(address)
		mails = self.received()
		self.assertEqual(len(mails), 2, "Frappe files each copy")
		self.assertEqual({(m.reference_doctype, m.reference_name) for m in mails}, {("CRM Lead", lead.name)})
		self.assertEqual([log.status for log in self.logs()], ["Processed", "Duplicate"])

	def test_a_known_open_lead_gets_the_mail_and_its_manager_is_told(self):
		address = client_address()
		lead = factories.make_lead(email=address, responsible=email("sales1"))
		self.track("CRM Lead", lead.name)
		frappe.db.commit()
		self.deliver(message(f"Иван <{address.upper()}>", subject="Ещё вопрос по счёту"))
		self.pull()
		self.assertEqual([row.name for row in self.leads_from(address)], [lead.name], "no second lead")
		[mail] = self.received()
		self.assertEqual((mail.reference_doctype, mail.reference_name), ("CRM Lead", lead.name))
		subjects = frappe.get_all(
			"Notification Log",
			filters={"for_user": email("sales1"), "document_name": lead.name},
			pluck="subject",
		)
		self.assertEqual(len(subjects), 1)
		self.assertIn("Ещё вопрос по счёту", subjects[0])
		shown = [row["name"] for row in self.timeline("CRM Lead", lead.name, email("sales1"))]
		self.assertEqual(shown, [mail.name])

	def test_a_contact_of_a_client_gets_the_mail_on_its_and_its_clients_timeline(self):
		address = client_address("buyer")
		client = factories.make_client(responsible=email("sales1"))
		contact = factories.make_contact(client.name, email=address, crm_responsible=email("sales1"))
		self.track("CRM Client", client.name)
		self.track("Contact", contact.name)
		frappe.db.commit()
		self.deliver(message(f"Анна Сидорова <{address}>", subject="Отгрузка"))
		self.pull()
		self.assertEqual(self.leads_from(address), [])
		[mail] = self.received()
		self.assertEqual((mail.reference_doctype, mail.reference_name), ("Contact", contact.name))
		self.assertIn(("CRM Client", client.name), self.links_of(mail.name))
		for doctype, name in (("Contact", contact.name), ("CRM Client", client.name)):
			shown = [row["name"] for row in self.timeline(doctype, name, email("sales1"))]
			self.assertEqual(shown, [mail.name], doctype)

	def test_a_clients_own_address_and_a_converted_leads_address_find_the_client(self):
		client = factories.make_client(email=client_address("office"), responsible=email("sales2"))
		self.track("CRM Client", client.name)
		converted_from = client_address("former-lead")
		lead = factories.make_lead(email=converted_from)
		self.track("CRM Lead", lead.name)
		frappe.db.set_value("CRM Lead", lead.name, {"status": "Converted", "client": client.name})
		frappe.db.commit()
		self.deliver(message(f"Офис <{client.email}>"))
		self.deliver(message(f"Бывший лид <{converted_from}>"))
		before = self.written()
		self.pull()
		mails = self.received()
		self.assertEqual(
			[(m.reference_doctype, m.reference_name) for m in mails],
			[("CRM Client", client.name), ("CRM Client", client.name)],
		)
		self.assertIn(
			("CRM Lead", lead.name), self.links_of(mails[1].name), "the converted lead shows it too"
		)
		self.assertEqual(self.written(), before, "no lead")

	def test_automatic_mail_and_mail_of_the_company_make_no_lead(self):
		senders = {
			"auto-reply": (f"Пётр <{client_address()}>", {"Auto-Submitted": "auto-replied"}, "Re: Запрос"),
			"out of office": (f"Пётр <{client_address()}>", {}, "Автоматический ответ: Запрос"),
			"bounce": (f"Mail Delivery System <MAILER-DAEMON@{COMPANY_DOMAIN}>", {}, "Undelivered Mail"),
			"null return path": (f"Сервер <{client_address()}>", {"Return-Path": "<>"}, "Failure notice"),
			"mailing list": (
				f"Новости <{client_address()}>",
				{"List-Id": "<news.client-mail.test>"},
				"Акции",
			),
			"no-reply": (f"Сервис <no-reply@{client_address().split('@')[1]}>", {}, "Ваш заказ"),
			"colleague": (f"Sales1 <{email('sales1')}>", {}, "Пересылаю запрос"),
			"company domain": (f"Бухгалтерия <buh@{COMPANY_DOMAIN}>", {}, "Счета"),
			"old mail": (f"Давний <{client_address()}>", {}, "Старое письмо"),
		}
		for case, (sender, headers, subject) in senders.items():
			date = time.time() - 30 * 86400 if case == "old mail" else None
			self.deliver(message(sender, subject=subject, headers=headers, date=date))
		self.pull()
		self.assertEqual(self.written()["leads"], 0)
		self.assertEqual(len(self.received()), len(senders), "Frappe keeps every message in the inbox")
		summaries = [log.summary for log in self.logs()]
		self.assertEqual(len(summaries), len(senders))
		self.assertTrue(all(s.startswith("ignored:") for s in summaries), summaries)
		for reason in ("auto-reply", "bounce", "mailing list", "company's own address", "days before"):
			self.assertTrue(any(reason in s for s in summaries), (reason, summaries))

	def test_switched_off_lead_creation_files_the_mail_without_a_lead(self):
		self.set_settings(email_create_leads=0)
		address = client_address()
		self.deliver(message(address))
		self.pull()
		self.assertEqual(self.leads_from(address), [])
		[log] = self.logs()
		self.assertIn("switched off", log.summary)

	def test_mail_of_another_account_is_left_to_frappe(self):
		self.set_settings(email_inbox=None)
		address = client_address()
		self.deliver(message(address))
		self.pull()
		self.assertEqual(len(self.received()), 1)
		self.assertEqual(self.leads_from(address), [])
		self.assertEqual(self.logs(), [])


class TestThreads(EmailTestCase):
	def make_deal(self) -> tuple[frappe._dict, str]:
		"""A deal of sales1 with a client and the client's buyer (a contact with an address)."""
		client = factories.make_client(responsible=email("sales1"))
		buyer = client_address("buyer")
		contact = factories.make_contact(client.name, email=buyer)
		deal = factories.make_deal(client.name, responsible=email("sales1"))
		for doctype, name in (
			("CRM Client", client.name),
			("Contact", contact.name),
			("CRM Deal", deal.name),
		):
			self.track(doctype, name)
		frappe.db.commit()
		self.addCleanup(
			lambda: frappe.db.delete(
				"Communication", {"reference_doctype": "CRM Deal", "reference_name": deal.name}
			)
		)
		return deal, buyer

	def write_from_the_deal(self, deal: str, to: str) -> tuple[str, dict]:
		"""sales1 writes from the deal's e-mail dialog (the Desk's call); the queued mail is sent to the SMTP
		server as Frappe's queue sends it. Returns the Communication and what the SMTP server got."""
		r = self.request(
			"POST",
			"/api/method/frappe.core.doctype.communication.email.make",
			email("sales1"),
			{
				"doctype": "CRM Deal",
				"name": deal,
				"recipients": to,
				"subject": "Коммерческое предложение",
				"content": "<p>Добрый день! Направляю предложение по поставке.</p>",
				"send_email": 1,
				# a name of one's choosing does not go out under the company's address
				"sender_full_name": "Генеральный директор",
			},
		)
		self.assertEqual(r.status_code, 200, r.text)
		communication = r.data["name"]
		[queued] = frappe.get_all("Email Queue", filters={"communication": communication}, pluck="name")
		self.send_queued(queued)
		[sent] = self.smtp.wait_for(1)
		return communication, sent

	def send_queued(self, name: str) -> None:
		"""Frappe's queue sends the mail (the site mutes e-mail for the tests: not for this one)."""
		muted, testing = frappe.local.conf.get("mute_emails"), frappe.flags.testing_email
		flag = frappe.flags.mute_emails
		frappe.local.conf.mute_emails, frappe.flags.mute_emails, frappe.flags.testing_email = 0, False, True
		try:
			frappe.get_doc("Email Queue", name).send()
		finally:
			frappe.local.conf.mute_emails, frappe.flags.mute_emails = muted, flag
			frappe.flags.testing_email = testing
		frappe.db.commit()
		self.assertEqual(frappe.db.get_value("Email Queue", name, "status"), "Sent")

	def test_an_email_from_the_deal_goes_out_through_the_company_account(self):
		deal, buyer = self.make_deal()
		communication, sent = self.write_from_the_deal(deal.name, buyer)
		headers = message_from_bytes(sent["data"])
		self.assertEqual(
			parseaddr(headers["From"]), ("Sales1", INBOX_ADDRESS), "the writer's name, our address"
		)
		self.assertEqual(sent["mail_from"], INBOX_ADDRESS)
		self.assertEqual(sent["rcpt_tos"], [buyer])
		self.assertEqual(self.smtp.logins, [INBOX_ADDRESS], "with the account's login")
		self.assertEqual(parseaddr(headers["Reply-To"])[1], INBOX_ADDRESS, "answers come to the CRM Inbox")
		values = frappe.db.get_value(
			"Communication",
			communication,
			["email_account", "sender", "owner", "delivery_status"],
			as_dict=True,
		)
		self.assertEqual(
			(values.email_account, values.sender, values.owner), (INBOX, INBOX_ADDRESS, email("sales1"))
		)
		shown = [row["name"] for row in self.timeline("CRM Deal", deal.name, email("sales1"))]
		self.assertEqual(shown, [communication], "the e-mail is on the deal's timeline")
		# a record of mail someone else sent (filed by an administrator, an import) keeps its sender
		other = frappe.get_doc(
			{
				"doctype": "Communication",
				"communication_medium": "Email",
				"sent_or_received": "Sent",
				"sender": email("sales2"),
				"recipients": buyer,
				"subject": "Из почты менеджера",
				"reference_doctype": "CRM Deal",
				"reference_name": deal.name,
			}
		).insert(ignore_permissions=True)
		self.assertEqual((other.sender, other.email_account), (email("sales2"), None))

	def test_a_reply_in_the_thread_lands_on_the_deal(self):
		deal, buyer = self.make_deal()
		_communication, sent = self.write_from_the_deal(deal.name, buyer)
		# unfolded: with a long site name the header is folded over two lines
		ours = "".join(str(message_from_bytes(sent["data"])["Message-Id"]).split())
		# the buyer answers; a colleague of theirs nobody knows answers as well (In-Reply-To, and only
		# References as some clients write it)
		colleague = client_address("colleague")
		self.deliver(
			message(f"Анна <{buyer}>", subject="Re: Коммерческое предложение", headers={"In-Reply-To": ours})
		)
		self.deliver(
			message(
				f"Коллега <{colleague}>", subject="Re: Коммерческое предложение", headers={"References": ours}
			)
		)
		self.pull()
		mails = self.received()
		self.assertEqual(
			[(m.reference_doctype, m.reference_name) for m in mails], [("CRM Deal", deal.name)] * 2
		)
		self.assertEqual(mails[0].subject, "Re: Коммерческое предложение", "the subject whole")
		self.assertEqual(mails[0].sender_full_name, "Анна")
		self.assertEqual(self.leads_from(colleague), [], "a reply in our conversation is no new inquiry")
		contact = frappe.db.get_value("Contact Email", {"email_id": buyer}, "parent")
		self.assertIn(("Contact", contact), self.links_of(mails[0].name), "and on the buyer's timeline")
		shown = {row["name"] for row in self.timeline("CRM Deal", deal.name, email("sales1"))}
		self.assertTrue({m.name for m in mails} <= shown)
		self.assertEqual(
			[log.summary.split(" CRM Deal")[0] for log in self.logs()], ["reply in the thread of"] * 2
		)


class TestBadMail(EmailTestCase):
	def test_a_message_without_sender_is_kept_and_does_not_stop_the_others(self):
		address = client_address()
		self.deliver(message(None, subject="Без отправителя"))
		self.deliver(message(f"Борис <{address}>"))
		before = self.written()
		self.pull()
		mails = self.received()
		self.assertEqual([m.subject for m in mails], ["Без отправителя", "Запрос цены"])
		self.assertEqual((mails[0].sender, mails[0].reference_doctype), (None, None))
		self.assertEqual(len(self.leads_from(address)), 1, "the next message is filed all the same")
		logs = self.logs()
		self.assertEqual([log.status for log in logs], ["Rejected", "Processed"])
		self.assertIn("no valid sender address", logs[0].error)
		self.assertEqual(self.written()["leads"], before["leads"] + 1)
		self.assertFalse(
			frappe.db.exists("Unhandled Email", {"creation": (">=", self.started)}), "Frappe filed both"
		)

	def test_a_failure_of_the_crm_leaves_the_message_filed_and_nothing_half_written(self):
		# an administrator made Company mandatory for leads (Customize Form): a mail has no company
		require_lead_company(self)
		address = client_address()
		self.deliver(message(f"Фёдор <{address}>"))
		before = self.written()
		self.pull()
		[mail] = self.received()
		self.assertEqual((mail.sender, mail.reference_doctype), (address, None), "filed, linked to nothing")
		self.assertEqual(self.written(), before, "no lead, no index row, no task")
		self.assertFalse(
			frappe.db.exists("CRM Automation Mark", {"job": "email", "marked_on": (">=", self.started)})
		)
		[log] = self.logs()
		self.assertEqual((log.status, log.reference_name), ("Failed", None))
		self.assertIn("Company", log.error)
		self.assertTrue(frappe.db.exists("Error Log", {"creation": (">=", self.started)}))

	def test_a_huge_message_makes_a_lead_with_the_start_of_it(self):
		address = client_address()
		body = "Нужна спецификация. " * 150_000  # 3 MB of text
		self.deliver(message(f"Большое письмо <{address}>", body=body))
		self.pull()
		[lead] = self.leads_from(address)
		self.assertLessEqual(len(lead.interest), mail_channel.INTEREST_LIMIT)
		self.assertTrue(lead.interest.startswith("Запрос цены\n\nНужна спецификация."))
		[mail] = self.received()
		self.assertEqual((mail.reference_doctype, mail.reference_name), ("CRM Lead", lead.name))
		self.assertGreater(len(frappe.db.get_value("Communication", mail.name, "content")), 2_000_000)
		[log] = self.logs()
		self.assertEqual(log.status, "Processed")

	def test_markup_in_the_subject_and_name_stays_text(self):
		address = client_address()
		self.deliver(
			message(
				f'"<img src=x onerror=alert(1)>Ева" <{address}>',
				subject="<script>alert('subject')</script> Прайс",
				body="<b>жирный</b> текст",
			)
		)
		self.pull()
		[lead] = self.leads_from(address)
		self.assertNotIn("<", lead.lead_name)
		self.assertIn("Ева", lead.lead_name)
		self.assertNotIn("<script", lead.interest)
		self.assertIn("Прайс", lead.interest, "the subject whole")
		[log] = self.logs()
		self.assertEqual((log.status, log.reference_name), ("Processed", lead.name))
		notification = frappe.get_all(
			"Notification Log", filters={"document_name": lead.name}, pluck="subject"
		)
		self.assertFalse(any("<script" in (s or "") for s in notification))


class TestSettings(EmailTestCase):
	def test_the_inbox_must_receive_mail_and_stops_making_contacts(self):
		from simple_crm.integrations.email import InvalidInboxError

		self.assertEqual(
			frappe.db.get_value("Email Account", INBOX, "create_contact"),
			0,
			"saving the settings switched Frappe's contacts of unknown senders off",
		)
		doc = frappe.get_single(SETTINGS)
		doc.email_inbox = TEST_OUTBOX  # sends only
		self.assertRaises(InvalidInboxError, doc.save)
		frappe.db.rollback()
		doc = frappe.get_single(SETTINGS)
		doc.email_own_domains = "company.ru\nне домен"
		self.assertRaises(InvalidInboxError, doc.save)
		frappe.db.rollback()

	def test_every_request_and_job_keeps_the_messages_headers_at_hand(self):
		from frappe.email.receive import InboundMail

		for hook in ("before_request", "before_job"):
			self.assertIn("simple_crm.integrations.email.install", frappe.get_hooks(hook))
		wrapped = InboundMail._build_communication_doc
		mail_channel.install()  # once per process: a second call changes nothing
		self.assertIs(InboundMail._build_communication_doc, wrapped)
