"""A small sales organisation for the permission, workflow and hand-over tests.

Two teams, created once per test class with fixed e-mails and committed (REST requests run in their own
connection and must see them):

- team A: head `head_a`, members `sales1` and `sales2`;
- team B: head `head_b`, member `sales3`;
- `director` (CRM Director) and `crm_admin` (CRM Administrator) outside the teams.

`make_records(owner)` gives one record of every row-level doctype belonging to a sales manager.
"""

import time

import frappe

from simple_crm.tests import factories
from simple_crm.tests.utils import CRMRestTestCase, CRMTestCase

SALES_MANAGER = "CRM Sales Manager"
HEAD_OF_SALES = "CRM Head of Sales"
DIRECTOR = "CRM Director"
CRM_ADMIN = "CRM Administrator"

USERS = {
	"sales1": ("process.sales1@example.com", SALES_MANAGER),
	"sales2": ("process.sales2@example.com", SALES_MANAGER),
	"sales3": ("process.sales3@example.com", SALES_MANAGER),
	"head_a": ("process.head.a@example.com", HEAD_OF_SALES),
	"head_b": ("process.head.b@example.com", HEAD_OF_SALES),
	"director": ("process.director@example.com", DIRECTOR),
	"crm_admin": ("process.admin@example.com", CRM_ADMIN),
}
TEAMS = {
	"Process Test Team A": ("head_a", ("sales1", "sales2")),
	"Process Test Team B": ("head_b", ("sales3",)),
}

# order matters for clean-up: what links to others goes first
RECORD_DOCTYPES = (
	"CRM Order",
	"CRM Call",
	"CRM Task",
	"CRM Deal",
	"CRM Counterparty",
	"Contact",
	"CRM Lead",
	"CRM Client",
)


def email(key: str) -> str:
	return USERS[key][0]


def make_users() -> dict[str, str]:
	"""The users with exactly their one CRM role; returns key -> e-mail."""
	for key, (address, role) in USERS.items():
		user = factories.make_user(address, first_name=key.replace("_", " ").title())
		unwanted = [r.role for r in user.roles if r.role != role]
		if unwanted:
			user.remove_roles(*unwanted)
		if role not in {r.role for r in user.roles}:
			user.add_roles(role)
	for team_name, (head, members) in TEAMS.items():
		if frappe.db.exists("CRM Sales Team", team_name):
			frappe.delete_doc("CRM Sales Team", team_name, force=True, ignore_permissions=True)
		frappe.get_doc(
			{
				"doctype": "CRM Sales Team",
				"team_name": team_name,
				"head": email(head),
				"members": [{"user": email(m)} for m in members],
			}
		).insert(ignore_permissions=True)
	return {key: address for key, (address, _role) in USERS.items()}


def delete_teams() -> None:
	for team_name in TEAMS:
		if frappe.db.exists("CRM Sales Team", team_name):
			frappe.delete_doc("CRM Sales Team", team_name, force=True, ignore_permissions=True)


def make_records(owner: str) -> dict[str, str]:
	"""One record of each row-level doctype that belongs to `owner` (created as Administrator)."""
	client = factories.make_client(responsible=owner)
	deal = factories.make_deal(client.name, responsible=owner)
	return {
		"CRM Client": client.name,
		"CRM Deal": deal.name,
		"CRM Lead": factories.make_lead(responsible=owner).name,
		"CRM Counterparty": factories.make_counterparty(client.name).name,
		"Contact": factories.make_contact(client.name).name,
		"CRM Task": factories.make_task(assigned_to=owner, author=owner).name,
		"CRM Call": factories.make_call(manager=owner, client=client.name).name,
		"CRM Order": factories.make_order(client=client.name, deal=deal.name).name,
	}


def delete_records(records: dict[str, str]) -> None:
	for doctype in RECORD_DOCTYPES:
		name = records.get(doctype)
		if name and frappe.db.exists(doctype, name):
			frappe.delete_doc(doctype, name, force=True, ignore_permissions=True)


def delete_users() -> None:
	for address, _role in USERS.values():
		delete_user(address)


def delete_user(address: str) -> None:
	"""Delete a test user and their assignments. A background worker serving the site may still be
	writing the notifications of the last requests for this user, and Frappe deletes without waiting on a
	locked row: try again shortly instead of failing the clean-up."""
	for todo in frappe.get_all("ToDo", filters={"allocated_to": address}, pluck="name"):
		frappe.delete_doc("ToDo", todo, force=True, ignore_permissions=True)
	frappe.db.commit()
	for attempt in range(10):
		if not frappe.db.exists("User", address):
			return
		try:
			frappe.delete_doc("User", address, force=True, ignore_permissions=True)
			frappe.db.commit()
			return
		except frappe.QueryTimeoutError:
			frappe.db.rollback()
			time.sleep(0.5 * (attempt + 1))
	frappe.delete_doc("User", address, force=True, ignore_permissions=True)


class SalesOrgUsers:
	"""Test-class mixin: the organisation's users and teams exist, committed, for the whole class."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		frappe.set_user("Administrator")
		make_users()
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		# the users stay for the rest of the run (made once, see before_tests); the teams go, as some
		# tests change them
		frappe.db.rollback()
		frappe.set_user("Administrator")
		delete_teams()
		frappe.db.commit()
		super().tearDownClass()


# what the CRM e-mails (notifications, digests) is queued through this account in the tests; nothing is sent
TEST_OUTBOX = "CRM Test Outbox"


def make_outbox() -> None:
	"""A default outgoing e-mail account, as every site that sends mail has (Email Queue needs one)."""
	if frappe.db.exists("Email Account", TEST_OUTBOX):
		return
	frappe.get_doc(
		{
			"doctype": "Email Account",
			"email_account_name": TEST_OUTBOX,
			"email_id": "crm-outbox@example.com",
			"enable_outgoing": 1,
			"default_outgoing": 1,
			"smtp_server": "127.0.0.1",
			"smtp_port": 25,
			"no_smtp_authentication": 1,
		}
	).insert(ignore_permissions=True)


def before_tests() -> None:
	"""`before_tests` hook: the organisation's users exist once for the whole run."""
	frappe.set_user("Administrator")
	make_users()
	make_outbox()
	# e-mails are queued, never sent: Frappe sends some at once in tests, and commits when it does
	frappe.flags.mute_emails = True
	delete_teams()
	frappe.db.commit()


class SalesOrgTestCase(SalesOrgUsers, CRMTestCase):
	"""ORM tests as the organisation's users, rolled back after each test."""


class SalesOrgRestTestCase(SalesOrgUsers, CRMRestTestCase):
	"""REST tests as the organisation's users."""


class TwoTeamsRecordsTestCase(SalesOrgRestTestCase):
	"""One record of every row-level doctype for sales1 (team A, `mine`) and for sales3 (team B, `theirs`:
	foreign to sales1, sales2 and head_a), committed for the whole class."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.mine = make_records(email("sales1"))
		cls.theirs = make_records(email("sales3"))
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		frappe.db.rollback()
		frappe.set_user("Administrator")
		delete_records(cls.theirs)
		delete_records(cls.mine)
		frappe.db.commit()
		super().tearDownClass()
