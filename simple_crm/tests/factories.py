"""Factories for test records. Each returns an inserted document; keyword arguments override fields."""

import random

import frappe

_rng = random.Random(20261122)


def unique(prefix: str = "") -> str:
	return f"{prefix}{frappe.generate_hash(length=8)}"


def unique_mobile() -> str:
	"""A valid Russian mobile number nobody else in the test site uses (raw, human-typed form)."""
	n = _rng.randint(0, 9_999_999)
	return f"8 (916) {n // 10000:03d}-{(n // 100) % 100:02d}-{n % 100:02d}"


def unique_email(prefix: str = "test") -> str:
	return f"{prefix}.{frappe.generate_hash(length=10)}@example.com"


def make_user(email: str | None = None, roles: tuple[str, ...] = (), **kwargs):
	email = email or unique_email("user")
	if frappe.db.exists("User", email):
		user = frappe.get_doc("User", email)
	else:
		user = frappe.get_doc(
			{
				"doctype": "User",
				"email": email,
				"first_name": kwargs.pop("first_name", email.split("@")[0]),
				"send_welcome_email": 0,
				"user_type": "System User",
				**kwargs,
			}
		).insert(ignore_permissions=True)
	if roles:
		user.add_roles(*roles)
	return user


def make_lead(**kwargs):
	doc = frappe.get_doc(
		{
			"doctype": "CRM Lead",
			"lead_name": "Иван Петров",
			"company_name": "ООО Ромашка",
			"phone": unique_mobile(),
			"email": unique_email("lead"),
			**kwargs,
		}
	)
	return doc.insert()


def make_client(**kwargs):
	doc = frappe.get_doc(
		{
			"doctype": "CRM Client",
			"client_name": unique("ООО Клиент "),
			"client_type": "Organisation",
			**kwargs,
		}
	)
	return doc.insert()


def make_contact(client: str | None = None, **kwargs):
	phone = kwargs.pop("phone", None) or unique_mobile()
	email = kwargs.pop("email", None) or unique_email("contact")
	doc = frappe.get_doc(
		{
			"doctype": "Contact",
			"first_name": kwargs.pop("first_name", "Анна"),
			"last_name": kwargs.pop("last_name", unique("Сидорова-")),
			"phone_nos": [{"phone": phone, "is_primary_mobile_no": 1}],
			"email_ids": [{"email_id": email, "is_primary": 1}],
			"links": [{"link_doctype": "CRM Client", "link_name": client}] if client else [],
			**kwargs,
		}
	)
	return doc.insert()


def valid_inn(kind: str = "organisation") -> str:
	from simple_crm.utils.identifiers import make_inn

	return make_inn(_rng, kind)


def make_counterparty(client: str | None = None, **kwargs):
	from simple_crm.utils import identifiers

	inn = kwargs.pop("inn", None) or identifiers.make_inn(_rng, "organisation")
	doc = frappe.get_doc(
		{
			"doctype": "CRM Counterparty",
			"full_name": unique("Общество с ограниченной ответственностью "),
			"short_name": unique("ООО "),
			"counterparty_type": "Legal Entity",
			"client": client,
			"inn": inn,
			"kpp": identifiers.make_kpp(_rng, inn),
			"ogrn": identifiers.make_ogrn(_rng),
			**kwargs,
		}
	)
	return doc.insert()


def default_pipeline() -> str:
	return frappe.db.get_single_value("Simple CRM Settings", "default_pipeline") or frappe.db.get_value(
		"CRM Pipeline", {"is_default": 1}
	)


def make_deal(client: str | None = None, **kwargs):
	doc = frappe.get_doc(
		{
			"doctype": "CRM Deal",
			"deal_name": unique("Поставка "),
			"client": client,
			"pipeline": kwargs.pop("pipeline", None) or default_pipeline(),
			**kwargs,
		}
	)
	return doc.insert()


def make_task(**kwargs):
	doc = frappe.get_doc({"doctype": "CRM Task", "subject": unique("Позвонить "), **kwargs})
	return doc.insert()


# --- pipelines, products, orders, calls -------------------------------------------------------------

# stage names of the seeded "Sales" pipeline, reused by test pipelines so that a Frappe Workflow
# on CRM Deal.stage (whose states are those names) accepts deals in them
TEST_STAGES = (
	("Qualification", "Open", 10),
	("Proposal", "Open", 50),
	("Won", "Won", None),
	("Lost", "Lost", None),
)


def make_pipeline(stages=TEST_STAGES, **kwargs):
	doc = frappe.get_doc(
		{
			"doctype": "CRM Pipeline",
			"pipeline_name": kwargs.pop("pipeline_name", None) or unique("Воронка "),
			"stages": [
				{"stage_name": name, "stage_type": stage_type, "probability": probability}
				for name, stage_type, probability in stages
			],
			**kwargs,
		}
	)
	return doc.insert()


def make_product(**kwargs):
	doc = frappe.get_doc(
		{
			"doctype": "CRM Product",
			"product_code": kwargs.pop("product_code", None) or unique("P-"),
			"product_name": kwargs.pop("product_name", None) or unique("Товар "),
			"standard_rate": kwargs.pop("standard_rate", 100),
			**kwargs,
		}
	)
	return doc.insert()


def make_order(**kwargs):
	doc = frappe.get_doc(
		{
			"doctype": "CRM Order",
			"external_id": kwargs.pop("external_id", None) or unique("1C-"),
			"amount": kwargs.pop("amount", 1000),
			**kwargs,
		}
	)
	return doc.insert()


def make_call(**kwargs):
	doc = frappe.get_doc(
		{
			"doctype": "CRM Call",
			"phone": kwargs.pop("phone", None) or unique_mobile(),
			"direction": kwargs.pop("direction", "Inbound"),
			"call_status": kwargs.pop("call_status", "Answered"),
			**kwargs,
		}
	)
	return doc.insert()


def make_complaint(client: str | None = None, **kwargs):
	doc = frappe.get_doc(
		{
			"doctype": "CRM Complaint",
			"client": client,
			"category": kwargs.pop("category", None) or "Product Quality",
			"description": kwargs.pop("description", None) or "Брак в партии",
			**kwargs,
		}
	)
	return doc.insert()
