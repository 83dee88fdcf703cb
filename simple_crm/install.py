"""Idempotent site setup: safe to run on every install and migrate."""

import frappe

from simple_crm.permissions.assignments import add_todo_index
from simple_crm.permissions.rules import add_rule_indexes
from simple_crm.permissions.search import add_search_indexes
from simple_crm.security.read_paths import add_reference_indexes

DEFAULT_PIPELINE = "Sales"
DEFAULT_STAGES = (
	# stage, type, probability
	("Qualification", "Open", 10),
	("Needs Analysis", "Open", 25),
	("Proposal", "Open", 50),
	("Negotiation", "Open", 75),
	("Won", "Won", 100),
	("Lost", "Lost", 0),
)
LEAD_SOURCES = (
	("Website", "Website"),
	("Phone Call", "Phone"),
	("E-mail", "Email"),
	("Messenger", "Messenger"),
	("Social Network", "Social"),
	("Referral", "Referral"),
	("Exhibition", "Exhibition"),
	("Other", "Other"),
)
LOST_REASONS = (
	("Price Too High", "Lead and Deal"),
	("Chose a Competitor", "Lead and Deal"),
	("No Budget", "Lead and Deal"),
	("No Response", "Lead and Deal"),
	("Not Our Customer", "Lead"),
	("Spam", "Lead"),
	("Duplicate", "Lead"),
	("Project Cancelled", "Deal"),
	("Other", "Lead and Deal"),
)
CLIENT_SEGMENTS = ("Retail", "Wholesale", "Key Account", "Partner")
# what clients complain about most (Russian names in translations/ru.csv)
COMPLAINT_CATEGORIES = (
	"Product Quality",
	"Delivery Times",
	"Shortage or Wrong Goods",
	"Damaged in Transit",
	"Documents and Invoices",
	"Prices and Payments",
	"Customer Service",
	"Warranty",
	"Other",
)


def after_install():
	after_migrate()
	add_to_global_search()


def after_migrate():
	"""Seed masters the app needs; every step checks before it writes, so edits survive."""
	seed_masters()
	seed_default_pipeline()
	seed_settings()
	sync_pipeline_stages()
	seed_deal_kanban()
	frappe.get_attr("simple_crm.list_views.seed_list_view_settings")()
	grant_role_permissions()
	seed_workflows()
	add_todo_index()
	add_rule_indexes()
	add_reference_indexes()
	add_search_indexes()
	frappe.get_attr("simple_crm.integrations.spreadsheet_import.add_custom_fields")()
	frappe.get_attr("simple_crm.integrations.spreadsheet_import.make_import_log_transactional")()
	frappe.get_attr("simple_crm.automation.notifications.seed_example_notifications")()
	frappe.get_attr(
		"simple_crm.simple_crm.report.crm_manager_activity.crm_manager_activity.add_communication_index"
	)()


def seed_masters():
	for source, channel in LEAD_SOURCES:
		if not frappe.db.exists("CRM Lead Source", source):
			frappe.get_doc({"doctype": "CRM Lead Source", "source_name": source, "channel": channel}).insert(
				ignore_permissions=True
			)
	for reason, applies_to in LOST_REASONS:
		if not frappe.db.exists("CRM Lost Reason", reason):
			frappe.get_doc({"doctype": "CRM Lost Reason", "reason": reason, "applies_to": applies_to}).insert(
				ignore_permissions=True
			)
	for segment in CLIENT_SEGMENTS:
		if not frappe.db.exists("CRM Client Segment", segment):
			frappe.get_doc({"doctype": "CRM Client Segment", "segment_name": segment}).insert(
				ignore_permissions=True
			)
	for category in COMPLAINT_CATEGORIES:
		if not frappe.db.exists("CRM Complaint Category", category):
			frappe.get_doc({"doctype": "CRM Complaint Category", "category_name": category}).insert(
				ignore_permissions=True
			)


def seed_default_pipeline():
	if frappe.db.count("CRM Pipeline"):
		return
	frappe.get_doc(
		{
			"doctype": "CRM Pipeline",
			"pipeline_name": DEFAULT_PIPELINE,
			"is_default": 1,
			"stages": [
				{"stage_name": stage, "stage_type": stage_type, "probability": probability}
				for stage, stage_type, probability in DEFAULT_STAGES
			],
		}
	).insert(ignore_permissions=True)


def seed_settings():
	settings = frappe.get_single("Simple CRM Settings")
	changed = False
	if not settings.default_phone_region:
		settings.default_phone_region = "RU"
		changed = True
	if not settings.default_pipeline:
		settings.default_pipeline = frappe.db.get_value("CRM Pipeline", {"is_default": 1}) or DEFAULT_PIPELINE
		changed = True
	if not settings.duplicate_policy:
		settings.duplicate_policy = "Warn"
		changed = True
	if not settings.get("conversion_foreign_match"):
		settings.conversion_foreign_match = "Refuse"
		changed = True
	if not settings.get("web_to_lead_source") and frappe.db.exists("CRM Lead Source", "Website"):
		settings.web_to_lead_source = "Website"
		changed = True
	if not settings.get("email_lead_source") and frappe.db.exists("CRM Lead Source", "E-mail"):
		settings.email_lead_source = "E-mail"
		changed = True
	if not settings.default_currency and frappe.db.exists("Currency", "RUB"):
		settings.default_currency = "RUB"
		changed = True
	# a setting added by an upgrade starts at its default (Frappe applies defaults to a new single only)
	stored = frappe.db.get_singles_dict("Simple CRM Settings")
	for df in settings.meta.fields:
		if df.default is not None and df.fieldname not in stored and df.fieldtype not in ("Link",):
			settings.set(df.fieldname, df.default)
			changed = True
	if changed:
		settings.flags.ignore_permissions = True
		settings.save()


def seed_deal_kanban():
	"""A kanban of deals for every pipeline, its stages as columns (simple_crm.kanban); the default pipeline's
	is the board "Deals by Stage" the workspace opens."""
	from simple_crm.kanban import sync_pipeline_boards

	sync_pipeline_boards()


def sync_pipeline_stages():
	"""CRM Deal.stage offers the stages of every pipeline (also on sites seeded before the sync existed)."""
	from simple_crm.pipelines import sync_deal_stage_options

	sync_deal_stage_options()


# Frappe's Contact carries its own role permissions; the CRM roles are added beside them (as Custom
# DocPerm rows, which is how Frappe lets an app extend another app's doctype).
CONTACT_PERMISSIONS = {
	"CRM Sales Manager": ("read", "write", "create", "report", "email", "print", "share"),
	"CRM Head of Sales": ("read", "write", "create", "delete", "report", "export", "email", "print", "share"),
	"CRM Director": ("read", "report", "export", "print"),
	"CRM Administrator": (
		"read",
		"write",
		"create",
		"delete",
		"report",
		"export",
		"import",
		"email",
		"print",
		"share",
	),
}


# The CRM administrator sets up the sales process in the Desk without being a System Manager: the
# workflows, their states and actions, and the rules that assign new leads (limited to the CRM's own
# doctypes by simple_crm.permissions.configuration_query).
_CONFIGURE = ("read", "write", "create", "delete", "report", "print")
CONFIGURATION_PERMISSIONS = {
	"Workflow": {"CRM Administrator": _CONFIGURE},
	"Workflow State": {"CRM Administrator": ("read", "write", "create", "report")},
	"Workflow Action Master": {"CRM Administrator": ("read", "write", "create", "report")},
	"Assignment Rule": {"CRM Administrator": _CONFIGURE},
}


# Sales people repeat their tasks with Frappe's Auto Repeat (a quarterly call to a key client); what they may
# repeat, and that they e-mail no copies, is simple_crm.security.auto_repeat's
_REPEAT = ("read", "write", "create", "delete")
AUTO_REPEAT_PERMISSIONS = {
	"Auto Repeat": {
		"CRM Sales Manager": _REPEAT,
		"CRM Head of Sales": _REPEAT,
		"CRM Administrator": _REPEAT,
	}
}


def grant_role_permissions():
	"""Add the CRM roles' rows once; an administrator's later changes in Role Permissions Manager stay."""
	grant_permissions(
		{
			"Contact": CONTACT_PERMISSIONS,
			**CONFIGURATION_PERMISSIONS,
			**AUTO_REPEAT_PERMISSIONS,
			# a CRM administrator imports the sales department's spreadsheets
			"Data Import": {"CRM Administrator": ("read", "write", "create", "delete")},
		}
	)


def grant_permissions(per_doctype: dict[str, dict[str, tuple[str, ...]]]) -> None:
	from frappe.permissions import add_permission, update_permission_property

	from simple_crm.workflows import ensure_role

	for doctype, roles in per_doctype.items():
		for role, ptypes in roles.items():
			# on a fresh install this runs before the Role fixtures are imported
			ensure_role(role)
			if frappe.db.exists("Custom DocPerm", {"parent": doctype, "role": role, "permlevel": 0}):
				continue
			add_permission(doctype, role, 0)
			for ptype in ptypes:
				update_permission_property(doctype, role, 0, ptype, 1, validate=False)


def seed_workflows():
	"""The Lead and Deal workflows, created once (see simple_crm.workflows)."""
	from simple_crm.workflows import seed_workflows

	seed_workflows()


def add_to_global_search():
	"""Put the CRM records in the Desk's search bar (Global Search Settings), once: an administrator may
	take them out again. The setup wizard rebuilds that list from the `global_search_doctypes` hook."""
	from simple_crm.hooks import GLOBAL_SEARCH_DOCTYPES

	settings = frappe.get_single("Global Search Settings")
	present = {row.document_type for row in settings.allowed_in_global_search}
	missing = [doctype for doctype in GLOBAL_SEARCH_DOCTYPES if doctype not in present]
	if not missing:
		return
	for doctype in missing:
		settings.append("allowed_in_global_search", {"document_type": doctype})
	settings.save(ignore_permissions=True)
	frappe.cache.hdel("global_search", "search_priorities")
