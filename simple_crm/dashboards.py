"""What the workspace shows each role: number cards for the day of a sales manager and the team of a head,
and the funnel chart.

The "plan vs fact" cards, one per role, each show this month's won revenue as a percentage of the plan
for what that role steers:

- "My Plan vs Fact" for a sales manager: their own targets and won deals;
- "Team Plan vs Fact" for a head of sales: theirs and their team's;
- "Company Plan vs Fact" for a director (and every role that sees every record): everyone's.

Every such card computes its figure with the "CRM Plan vs Fact" report itself (this month, no other
filter), so the card and the report it opens never disagree, and the report's row-level rules decide whose
targets and deals count.

A sales manager's day: "My Tasks Today", "My Overdue Tasks", "My Open Deals", "My New Leads". A head's
(and a director's) team view: "Overdue Tasks", "Unassigned New Leads", "Open Leads", "Open Deals Amount"
beside the chart of open deals by stage. Each day card counts with the list's own query (`frappe.get_list`,
so the row-level rules apply) and opens that list with the same filters: the number and the list agree.

The card a user sees is the one of their role (`has_permission`, for the workspace and for the card's own
record); the others stay hidden.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

import frappe
from frappe import _
from frappe.desk.doctype.number_card.number_card import has_permission as frappe_number_card_permission
from frappe.permissions import get_doctypes_with_read
from frappe.utils import get_first_day, get_last_day, get_year_start, now_datetime, today
from frappe.utils.caching import request_cache

from simple_crm.permissions.roles import HEAD_OF_SALES, sees_everything
from simple_crm.permissions.rules import whole_set

PLAN_VS_FACT_REPORT = "CRM Plan vs Fact"
FUNNEL_REPORT = "CRM Sales Funnel"
OWN, TEAM, COMPANY = "own", "team", "company"
PLAN_VS_FACT_CARDS = {
	"My Plan vs Fact": OWN,
	"Team Plan vs Fact": TEAM,
	"Company Plan vs Fact": COMPANY,
}
OPEN_TASK = ["Open", "In Progress"]
# the roles (scopes, see card_scope) each number card of the workspace is shown to; a card not named here
# is shown to every role
CARD_SCOPES: dict[str, frozenset[str]] = {
	**{card: frozenset({scope}) for card, scope in PLAN_VS_FACT_CARDS.items()},
	**{
		card: frozenset({OWN})
		for card in ("My Tasks Today", "My Overdue Tasks", "My Open Deals", "My New Leads")
	},
	**{
		card: frozenset({TEAM, COMPANY})
		for card in ("Overdue Tasks", "Unassigned New Leads", "Open Leads", "Open Deals Amount")
	},
}


def card_scope(user: str) -> str:
	if sees_everything(user):
		return COMPANY
	if HEAD_OF_SALES in frappe.get_roles(user):
		return TEAM
	return OWN


def number_card_permission(doc, ptype=None, user=None, debug=False):
	"""has_permission of Number Card: a card of some roles (CARD_SCOPES) only for them; then Frappe's own rule
	(the card's doctype readable, a report card's report allowed), the readable doctypes read once a request:
	Frappe reads them again for every card of a workspace (some 50 ms each)."""
	name = doc.get("name")
	user = user or frappe.session.user
	if name in CARD_SCOPES and card_scope(user) not in CARD_SCOPES[name]:
		return False
	if doc.get("type") == "Report" or user != frappe.session.user:
		return bool(frappe_number_card_permission(doc, ptype, user))
	return "System Manager" in frappe.get_roles(user) or doc.get("document_type") in readable_doctypes(user)


@request_cache
def readable_doctypes(user: str) -> frozenset[str]:
	"""The doctypes the session user may read (Frappe's get_doctypes_with_read; `user` keys the cache)."""
	return frozenset(get_doctypes_with_read())


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


# --- the day of a sales manager, the team of a head ----------------------------------------------------------


@dataclass(frozen=True)
class ListCard:
	"""A number card that counts the records of a list the user sees and opens that list, filtered alike.
	`filters(user)` gives the list's filters as the list view takes them from its address: {field: value}
	or {field: [operator, value]}."""

	doctype: str
	filters: Callable[[str], dict]


LIST_CARDS: dict[str, ListCard] = {
	"My Tasks Today": ListCard(
		"CRM Task",
		lambda user: {"assigned_to": user, "status": ["in", OPEN_TASK], "due_on": ["Timespan", "today"]},
	),
	"My Overdue Tasks": ListCard(
		"CRM Task",
		lambda user: {
			"assigned_to": user,
			"status": ["in", OPEN_TASK],
			"due_on": ["<", str(now_datetime().replace(microsecond=0))],
		},
	),
	"My Open Deals": ListCard("CRM Deal", lambda user: {"responsible": user, "stage_type": "Open"}),
	"My New Leads": ListCard("CRM Lead", lambda user: {"responsible": user, "status": "New"}),
	"Unassigned New Leads": ListCard(
		"CRM Lead", lambda user: {"responsible": ["is", "not set"], "status": "New"}
	),
}


def list_card(name: str) -> dict:
	"""The number of a LIST_CARDS card for the current user, with the list it opens."""
	if not frappe.has_permission("Number Card", doc=name):
		frappe.throw(_("You don't have access to Number Card: {0}").format(_(name)), frappe.PermissionError)
	card = LIST_CARDS[name]
	filters = card.filters(frappe.session.user)
	# a count of the list, as the list's own count takes the row-level condition
	with whole_set():
		count = frappe.get_list(card.doctype, filters=filters, fields=["count(*) as count"])
	return {
		"value": count[0].count if count else 0,
		"fieldtype": "Int",
		"route": ["List", card.doctype, "List"],
		"route_options": filters,
	}


@frappe.whitelist()
def my_tasks_today(filters=None) -> dict:
	"""Open tasks assigned to the user and due today (`filters`, sent by every number card, is not read)."""
	return list_card("My Tasks Today")


@frappe.whitelist()
def my_overdue_tasks(filters=None) -> dict:
	"""Open tasks assigned to the user whose due time has passed."""
	return list_card("My Overdue Tasks")


@frappe.whitelist()
def my_open_deals(filters=None) -> dict:
	"""Open deals the user is responsible for."""
	return list_card("My Open Deals")


@frappe.whitelist()
def my_new_leads(filters=None) -> dict:
	"""New leads the user is responsible for (not yet worked)."""
	return list_card("My New Leads")


@frappe.whitelist()
def unassigned_new_leads(filters=None) -> dict:
	"""New leads nobody is responsible for yet, among those the user sees (a head sees them to hand them
	out)."""
	return list_card("Unassigned New Leads")


# --- the workspace page ---------------------------------------------------------------------------------------

WIDGET_DOCTYPES = {
	"number_cards": ("Number Card", "number_card_name"),
	"charts": ("Dashboard Chart", "chart_name"),
}


@frappe.whitelist()
def get_desktop_page(page: str) -> dict:
	"""`frappe.desk.desktop.get_desktop_page`, with the number cards and charts the page shows sent along
	(as `docs`, which the Desk keeps) and the scripts of their custom chart sources (`crm_chart_sources`): their
	widgets draw without asking for them one request each (public/js/workspace.js). The page lists only the
	cards and charts the user may read."""
	from frappe.desk.desktop import get_desktop_page as frappe_desktop_page

	from simple_crm.security.input import BadInputError, argument_label, json_argument

	# Frappe reads the page as a JSON object with a name and fails with a 500 on anything else
	parsed = json_argument(page, "page", dict)
	if not isinstance(parsed.get("name"), str) or not parsed.get("name"):
		frappe.throw(
			_("{0} must be {1} (or the same as JSON)").format(argument_label("page"), _("an object")),
			BadInputError,
			title=_("Invalid value"),
		)
	from frappe.desk.doctype.dashboard_chart_source.dashboard_chart_source import get_config

	data = frappe_desktop_page(json.dumps(parsed))
	docs = []
	for key, (doctype, field) in WIDGET_DOCTYPES.items():
		for item in (data.get(key) or {}).get("items") or []:
			name = item.get(field)
			if name and frappe.has_permission(doctype, doc=name):
				docs.append({**frappe.get_cached_doc(doctype, name).as_dict(), "__workspace_widget": 1})
	if docs:
		frappe.response.docs = docs
	# the script of each custom chart's source (the filters and method the chart is drawn with), which the Desk
	# would otherwise ask for before the chart's data, one request after the other
	sources = {
		doc["source"]
		for doc in docs
		if doc["doctype"] == "Dashboard Chart" and doc.get("chart_type") == "Custom" and doc.get("source")
	}
	data["crm_chart_sources"] = {source: get_config(source) for source in sorted(sources)}
	return data


# --- the funnel chart ---------------------------------------------------------------------------------------


@frappe.whitelist()
def sales_funnel_chart(
	chart_name=None,
	filters=None,
	refresh=None,
	time_interval=None,
	timespan=None,
	from_date=None,
	to_date=None,
	heatmap_year=None,
) -> dict | None:
	"""The workspace's funnel chart (the chart source "CRM Sales Funnel"): deals reached per stage of the
	pipeline (the default one, or `filters.pipeline`) among the deals created this year, counted by the
	"CRM Sales Funnel" report itself, under its row-level rules. None (the chart's "No Data") without deals.

	A chart source rather than a report chart: the Desk draws a report chart by loading the report's script
	and the deal's meta first, and draws a report without a chart as bars labelled "undefined".

	The figures of a user are kept until a deal's stage, pipeline, amount or manager changes (see
	funnel_changed), for FUNNEL_CHART_CACHE_SECONDS at most: a head's or a director's funnel counts a year of
	the company's deals, which every opening of the workspace would count again. (`refresh` says nothing: the
	Desk's chart widget sends 1 on every drawing.)"""
	report = frappe.get_doc("Report", FUNNEL_REPORT)
	if not report.is_permitted():
		frappe.throw(
			_("You don't have access to Report: {0}").format(_(FUNNEL_REPORT)), frappe.PermissionError
		)
	from simple_crm.security.input import json_argument

	filters = json_argument(filters, "filters", dict) if filters else {}
	pipeline = filters.get("pipeline") or None
	from simple_crm.simple_crm.report.crm_sales_funnel.crm_sales_funnel import chart

	report_filters = {"from_date": str(get_year_start(today())), "to_date": today(), "pipeline": pipeline}
	key = funnel_chart_cache_key(report_filters)
	cached = frappe.cache.get_value(key, expires=True)
	if cached is not None:
		return cached.get("data")
	result = chart(report_filters)
	data = result["data"] if result else None
	frappe.cache.set_value(key, {"data": data}, expires_in_sec=FUNNEL_CHART_CACHE_SECONDS)
	return data


FUNNEL_CHART_CACHE_SECONDS = 300
FUNNEL_GENERATION_KEY = "simple_crm:funnel_generation"


def funnel_chart_cache_key(report_filters: dict) -> str:
	"""The user's chart for these filters in their language (the stages' labels are translated), as of the
	deals' last change."""
	generation = frappe.cache.get_value(FUNNEL_GENERATION_KEY, expires=True) or ""
	parts = [
		frappe.session.user,
		frappe.local.lang or "",
		json.dumps(report_filters, sort_keys=True),
		generation,
	]
	return "simple_crm:funnel_chart:" + hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def funnel_changed() -> None:
	"""A deal entered, left or moved in a funnel: every kept funnel chart is counted anew when next drawn. Said
	at once, and again when the change is committed or rolled back, so that a chart counted in between is not
	kept."""
	new_funnel_generation()
	frappe.db.after_commit.add(new_funnel_generation)
	frappe.db.after_rollback.add(new_funnel_generation)


def new_funnel_generation() -> None:
	frappe.cache.set_value(FUNNEL_GENERATION_KEY, frappe.generate_hash(length=12))


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
