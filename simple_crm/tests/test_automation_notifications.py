"""Status-triggered messages to clients: the example Frappe Notifications the app ships, switched off.

An administrator switches one on in the Desk; from then on the record's own save (a sales manager winning a
deal through its stage, a lead arriving) queues the message. Everything here runs in the test's transaction
and is rolled back; Frappe keeps the enabled Notifications of a doctype in its cache, so that is cleared
after each test too.
"""

import email
import email.policy
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse

import frappe

from simple_crm.automation import notifications
from simple_crm.automation.notifications import DEAL_WON, LEAD_RECEIVED, LEAD_RECEIVED_SMS
from simple_crm.tests import factories
from simple_crm.tests.sales_org import SalesOrgTestCase
from simple_crm.tests.sales_org import email as user_email


def queued_emails(doctype: str, name: str) -> list[frappe._dict]:
	"""The e-mails queued about a record: recipients, subject and text."""
	found = []
	for queue in frappe.get_all(
		"Email Queue", filters={"reference_doctype": doctype, "reference_name": name}, pluck="name"
	):
		doc = frappe.get_doc("Email Queue", queue)
		message = email.message_from_string(doc.message, policy=email.policy.default)
		text = "\n".join(
			part.get_content() for part in message.walk() if part.get_content_maintype() == "text"
		)
		found.append(
			frappe._dict(
				recipients=sorted(row.recipient for row in doc.recipients),
				subject=str(message["Subject"]),
				text=text,
			)
		)
	return found


class Gateway(BaseHTTPRequestHandler):
	"""An SMS gateway on localhost that keeps what it was asked to send."""

	received: list[dict] = []

	def do_GET(self):
		self.received.append(parse_qs(urlparse(self.path).query))
		self.send_response(200)
		self.end_headers()
		self.wfile.write(b"OK")

	def log_message(self, *args):
		pass


class TestClientNotifications(SalesOrgTestCase):
	def setUp(self):
		super().setUp()
		self.addCleanup(self.forget_cached_notifications)

	def forget_cached_notifications(self):
		for doctype in ("CRM Deal", "CRM Lead"):
			frappe.cache.hdel("notifications", doctype)

	def enable(self, name: str) -> None:
		"""Switched on as the site's administrator does in the Desk."""
		doc = frappe.get_doc("Notification", name)
		doc.enabled = 1
		doc.save()

	def won_deal(self, contacts: bool = True) -> tuple[str, str]:
		"""A deal a sales manager wins through its stage; returns (deal, the contact person's address)."""
		client = factories.make_client(
			responsible=user_email("sales1"), email=factories.unique_email("client")
		)
		rows = []
		address = client.email
		if contacts:
			other = factories.make_contact(client.name)
			primary = factories.make_contact(client.name, first_name="Мария")
			rows = [{"contact": other.name}, {"contact": primary.name, "is_primary": 1}]
			address = primary.email_id
		deal = factories.make_deal(
			client.name, responsible=user_email("sales1"), amount=250000, contacts=rows
		)
		frappe.set_user(user_email("sales1"))
		for stage in ("Proposal", "Won"):
			deal.reload()
			deal.stage = stage
			deal.save()
		frappe.set_user("Administrator")
		self.assertEqual(deal.stage_type, "Won")
		return deal.name, address

	def test_the_examples_exist_disabled_and_stay_as_the_administrator_left_them(self):
		for name, doctype, channel in (
			(DEAL_WON, "CRM Deal", "Email"),
			(LEAD_RECEIVED, "CRM Lead", "Email"),
			(LEAD_RECEIVED_SMS, "CRM Lead", "SMS"),
		):
			with self.subTest(name):
				doc = frappe.get_doc("Notification", name)
				self.assertEqual((doc.enabled, doc.document_type, doc.channel), (0, doctype, channel))
				self.assertFalse(doc.is_standard)  # editable in the Desk
		# an edited example is not overwritten, a deleted one not brought back
		frappe.db.set_value("Notification", DEAL_WON, "subject", "Спасибо!")
		frappe.delete_doc("Notification", LEAD_RECEIVED_SMS)
		self.assertEqual(notifications.seed_example_notifications(), [])
		self.assertEqual(frappe.db.get_value("Notification", DEAL_WON, "subject"), "Спасибо!")
		self.assertFalse(frappe.db.exists("Notification", LEAD_RECEIVED_SMS))

	def test_a_won_deal_thanks_its_contact_person_once(self):
		self.enable(DEAL_WON)
		deal, address = self.won_deal()
		sent = queued_emails("CRM Deal", deal)
		self.assertEqual(len(sent), 1, sent)
		self.assertEqual(sent[0].recipients, [address])
		deal_name = frappe.db.get_value("CRM Deal", deal, "deal_name")
		self.assertIn(deal_name, sent[0].subject)
		self.assertIn(deal_name, sent[0].text)
		self.assertIn("Мария", sent[0].text)
		# later saves of the won deal send nothing more
		frappe.set_user(user_email("head_a"))
		doc = frappe.get_doc("CRM Deal", deal)
		doc.amount = 260000
		doc.save()
		frappe.set_user("Administrator")
		self.assertEqual(len(queued_emails("CRM Deal", deal)), 1)

	def test_a_deal_without_contacts_thanks_the_client(self):
		self.enable(DEAL_WON)
		deal, address = self.won_deal(contacts=False)
		self.assertEqual([e.recipients for e in queued_emails("CRM Deal", deal)], [[address]])

	def test_disabled_examples_send_nothing(self):
		deal, _address = self.won_deal()
		self.assertEqual(queued_emails("CRM Deal", deal), [])
		lead = factories.make_lead()
		self.assertEqual(queued_emails("CRM Lead", lead.name), [])

	def test_a_new_lead_gets_a_confirmation_at_its_email(self):
		self.enable(LEAD_RECEIVED)
		frappe.set_user(user_email("sales1"))
		lead = factories.make_lead(lead_name="Ольга Кузнецова")
		frappe.set_user("Administrator")
		sent = queued_emails("CRM Lead", lead.name)
		self.assertEqual(len(sent), 1, sent)
		self.assertEqual(sent[0].recipients, [lead.email])
		self.assertIn(lead.name, sent[0].subject)
		self.assertIn("Ольга Кузнецова", sent[0].text)
		# a lead without an e-mail gets none
		silent = factories.make_lead(email=None)
		self.assertEqual(queued_emails("CRM Lead", silent.name), [])

	def test_a_new_lead_gets_an_sms_through_the_gateway(self):
		server = HTTPServer(("127.0.0.1", 0), Gateway)
		threading.Thread(target=server.serve_forever, daemon=True).start()
		self.addCleanup(server.server_close)
		self.addCleanup(server.shutdown)
		Gateway.received = []
		settings = frappe.get_single("SMS Settings")
		settings.sms_gateway_url = f"http://127.0.0.1:{server.server_port}/send"
		settings.message_parameter = "text"
		settings.receiver_parameter = "to"
		settings.save()
		self.enable(LEAD_RECEIVED_SMS)

		lead = factories.make_lead(lead_name="Пётр Иванов", mobile_no="8 (916) 555-12-34")
		self.assertEqual(len(Gateway.received), 1, Gateway.received)
		self.assertEqual(Gateway.received[0]["to"], ["+79165551234"])
		self.assertIn("Пётр Иванов", Gateway.received[0]["text"][0])
		self.assertIn(lead.name, Gateway.received[0]["text"][0])
		# without a mobile number, no SMS
		factories.make_lead()
		self.assertEqual(len(Gateway.received), 1)
