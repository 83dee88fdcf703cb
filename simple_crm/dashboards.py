"""The workspace's "plan vs fact" number cards: one per role, each showing this month's won revenue as a
percentage of the plan for what that role steers.

- "My Plan vs Fact" for a sales manager: their own targets and won deals;
- "Team Plan vs Fact" for a head of sales: theirs and their team's;
- "Company Plan vs Fact" for a director (and every role that sees every record): everyone's.

Every card computes its figure with the "CRM Plan vs Fact" report itself (this month, no other filter), so
the card and the report it opens never disagree, and the report's row-level rules decide whose targets and
deals count. The card a user sees is the one of their role (`has_permission`, for the workspace and for
the card's own record); the others stay hidden.
"""

import frappe
from frappe import _
from frappe.desk.doctype.number_card.number_card import has_permission as frappe_number_card_permission
from frappe.utils import get_first_day, get_last_day, today

from simple_crm.permissions.roles import HEAD_OF_SALES, sees_everything

PLAN_VS_FACT_REPORT = "CRM Plan vs Fact"
OWN, TEAM, COMPANY = "own", "team", "company"
PLAN_VS_FACT_CARDS = {
	"My Plan vs Fact": OWN,
	"Team Plan vs Fact": TEAM,
	"Company Plan vs Fact": COMPANY,
}


def card_scope(user: str) -> str:
	if sees_everything(user):
		return COMPANY
	if HEAD_OF_SALES in frappe.get_roles(user):
		return TEAM
	return OWN


def number_card_permission(doc, ptype=None, user=None, debug=False):
	"""has_permission of Number Card: a plan-vs-fact card only for its role, and then as Frappe decides;
	any other card is left to Frappe (None)."""
	name = doc.get("name") if isinstance(doc, dict) else doc.name
	if name not in PLAN_VS_FACT_CARDS:
		return None
	user = user or frappe.session.user
	if PLAN_VS_FACT_CARDS[name] != card_scope(user):
		return False
	return bool(frappe_number_card_permission(doc, ptype, user))


@frappe.whitelist()
def plan_vs_fact(filters=None) -> dict:
	"""This month's won revenue as a % of plan, for what the current user steers (the card's number). The
	card has no filters of its own: `filters` (sent by every number card) is not read."""
	report = frappe.get_doc("Report", PLAN_VS_FACT_REPORT)
	if not report.is_permitted():
		frappe.throw(
			_("You don't have access to Report: {0}").format(_(PLAN_VS_FACT_REPORT)), frappe.PermissionError
		)
	month = {"from_date": str(get_first_day(today())), "to_date": str(get_last_day(today()))}
	from simple_crm.simple_crm.report.crm_plan_vs_fact.crm_plan_vs_fact import execute, summary_totals

	_columns, rows, *_rest = execute(month)
	totals = summary_totals(rows)
	return {
		"value": totals["amount_percent"] or 0,
		"fieldtype": "Percent",
		"route": ["query-report", PLAN_VS_FACT_REPORT],
		"route_options": month,
	}


# --- charts grouped by a field --------------------------------------------------------------------------------


def translate_group_labels(config, result):
	"""A dashboard chart of a CRM doctype grouped by a Select field or a link to a translated doctype (deals by
	stage, leads by source) is labelled with the stored values ("Negotiation"); they are shown in the user's
	language, as the doctype's form and list show them."""
	doctype, fieldname = config.get("document_type"), config.get("group_by_based_on")
	if config.get("chart_type") != "Group By" or not isinstance(result, dict) or not doctype or not fieldname:
		return result
	if not frappe.db.exists("DocType", doctype):
		return result
	df = frappe.get_meta(doctype).get_field(fieldname)
	translated = df and (
		df.fieldtype == "Select"
		or (df.fieldtype == "Link" and df.options and frappe.get_meta(df.options).translated_doctype)
	)
	if translated and isinstance(result.get("labels"), list):
		context = doctype if df.fieldtype == "Select" else None
		result["labels"] = [
			_(label, context=context) if isinstance(label, str) else label for label in result["labels"]
		]
	return result
