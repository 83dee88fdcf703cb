"""The rules an administrator sets per stage of a pipeline: who may move a deal into it, what must be filled first.

They are typed on the Pipeline form, one per line or separated by commas, in English or in the user's language
("CRM: руководитель отдела продаж", "Сумма"), and kept as Frappe's names (role names, CRM Deal field names) so
that REST clients and imports read the same values in every language. The roles become the allowed roles of the
Deal workflow's transitions into the stage (simple_crm.workflows.sync_deal_workflow); the required fields are
checked by the deal itself whenever it enters the stage (CRMDeal.validate_required_fields), so they hold for the
Desk, the kanban, REST and Data Import alike.
"""

import re

import frappe
from frappe import _
from frappe.model import no_value_fields, table_fields

DEAL = "CRM Deal"
# languages a rule may be typed in besides the user's own: the product's first languages
RULE_LANGUAGES = ("en", "ru")
# fields that are always set by the deal itself: a rule on them would mean nothing
NOT_REQUIRABLE = frozenset({"pipeline", "stage", "stage_type", "naming_series"})


class StageRuleError(frappe.ValidationError):
	"""A stage rule names a role or a field that does not exist."""


class StageRequiredFieldsError(frappe.ValidationError):
	"""A deal enters a stage while fields the stage requires are empty."""


def split(text: str | None) -> list[str]:
	"""The items of a rule as typed: one per line or separated by commas (or semicolons), blanks dropped."""
	return list(dict.fromkeys(item.strip() for item in re.split(r"[\n,;]", text or "") if item.strip()))


def join(items: list[str]) -> str:
	return "\n".join(items)


def _translations() -> list[dict]:
	from frappe.translate import get_all_translations

	return [get_all_translations(lang) or {} for lang in RULE_LANGUAGES]


def _names_by_word(names_and_words: list[tuple[str, list[str]]]) -> dict[str, str]:
	"""casefolded word (a name, a label, their translations) -> the name it stands for"""
	translations = _translations()
	known = {}
	for name, words in names_and_words:
		for word in words:
			if not word:
				continue
			for candidate in (word, _(word), *(t.get(word) for t in translations)):
				if candidate:
					known.setdefault(candidate.strip().casefold(), name)
	return known


def parse_roles(text: str | None, stage: str = "") -> list[str]:
	"""Role names for the roles typed in `text`; an unknown or disabled role is refused by name."""
	items = split(text)
	if not items:
		return []
	roles = frappe.get_all("Role", filters={"disabled": 0}, pluck="name")
	known = _names_by_word([(role, [role]) for role in roles if role not in ("Guest", "All")])
	return [_resolve(item, known, _("Stage {1}: there is no role {0}"), stage) for item in items]


def requirable_fields() -> list:
	"""Fields of CRM Deal that a stage may require: every field that holds a value (a table: at least one row)."""
	return [
		df
		for df in frappe.get_meta(DEAL).fields
		if (df.fieldtype not in no_value_fields or df.fieldtype in table_fields)
		and df.fieldname not in NOT_REQUIRABLE
		and not df.hidden
	]


def rule_choices() -> dict[str, list[str]]:
	"""What the Pipeline form's pickers offer: the CRM's roles and the deal fields a stage can require, by their
	Frappe names (the form shows them in the user's language; anything else can still be typed)."""
	from simple_crm.permissions.roles import CRM_ROLES

	return {
		"allowed_roles": sorted(CRM_ROLES),
		"required_fields": [df.fieldname for df in requirable_fields()],
	}


def parse_fields(text: str | None, stage: str = "") -> list[str]:
	"""CRM Deal field names for the fields typed in `text` (names or labels); any other word is refused."""
	items = split(text)
	if not items:
		return []
	known = _names_by_word([(df.fieldname, [df.fieldname, df.label]) for df in requirable_fields()])
	return [_resolve(item, known, _("Stage {1}: the deal has no field {0}"), stage) for item in items]


def _resolve(item: str, known: dict[str, str], message: str, stage: str) -> str:
	name = known.get(item.casefold())
	if not name:
		frappe.throw(
			message.format(frappe.bold(item), frappe.bold(stage)), StageRuleError, title=_("Wrong Stage Rule")
		)
	return name


def missing_fields(deal, required: list[str]) -> list[str]:
	"""The fields of `required` that are empty on `deal` (a table without rows is empty)."""
	meta = frappe.get_meta(DEAL)
	missing = []
	for fieldname in required:
		df = meta.get_field(fieldname)
		if not df:
			continue  # a field removed since the rule was written binds nobody
		value = deal.get(fieldname)
		if df.fieldtype in table_fields:
			empty = not value
		elif df.fieldtype in ("Check", "Currency", "Float", "Int", "Percent"):
			empty = not value
		else:
			empty = value is None or (isinstance(value, str) and not value.strip())
		if empty:
			missing.append(fieldname)
	return missing


def check_required_fields(deal, stage) -> None:
	"""Refuse a deal entering `stage` (a row of its pipeline) while fields the stage requires are empty."""
	missing = missing_fields(deal, split(stage.get("required_fields")))
	if not missing:
		return
	meta = frappe.get_meta(DEAL)
	frappe.throw(
		_("To move the deal to stage {0}, fill in: {1}").format(
			frappe.bold(_(stage.stage_name)),
			", ".join(frappe.bold(_(meta.get_label(fieldname))) for fieldname in missing),
		),
		StageRequiredFieldsError,
		title=_("Fields Required for the Stage"),
	)
