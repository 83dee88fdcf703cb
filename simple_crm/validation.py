"""Turns the pure phone / identifier checks into translated Frappe validation errors.

Controllers call these helpers from `validate`; the pure modules in `simple_crm.utils` know
nothing of Frappe and report problems as codes, which are worded here.
"""

import frappe
from frappe import _
from frappe.utils import validate_email_address

from simple_crm.utils import identifiers, phones


class InvalidPhoneError(frappe.ValidationError):
	pass


class InvalidEmailError(frappe.ValidationError):
	pass


class InvalidIdentifierError(frappe.ValidationError):
	pass


def default_phone_region() -> str:
	# every save with a phone asks: Frappe's cached copy of the settings (cleared on each change)
	region = frappe.get_cached_doc("Simple CRM Settings").default_phone_region
	return (region or "RU").strip().upper()


def normalize_phone(raw: str, label: str, region: str | None = None) -> str:
	"""E.164 form of `raw`, or a translated error naming the field `label`."""
	try:
		return phones.normalize_phone(raw, region or default_phone_region())
	except phones.PhoneError as e:
		if e.code == "empty":
			msg = _("{0} is empty").format(_(label))
		elif e.code == "not_a_number":
			msg = _("{0}: '{1}' is not a phone number").format(_(label), raw)
		else:
			msg = _(
				"{0}: '{1}' is not a valid phone number (check the number of digits and the code)"
			).format(_(label), raw)
		frappe.throw(msg, InvalidPhoneError, title=_("Invalid Phone Number"))


def normalize_phone_field(doc, fieldname: str, normalized_fieldname: str) -> None:
	"""Keep what the user typed in `fieldname`; store its E.164 form in `normalized_fieldname`."""
	raw = (doc.get(fieldname) or "").strip()
	doc.set(fieldname, raw)
	if not raw:
		doc.set(normalized_fieldname, None)
		return
	doc.set(normalized_fieldname, normalize_phone(raw, doc.meta.get_label(fieldname)))


def normalize_email(value: str | None, label: str) -> str | None:
	value = (value or "").strip().lower()
	if not value:
		return None
	if not validate_email_address(value):
		frappe.throw(
			_("{0}: '{1}' is not a valid e-mail address").format(_(label), value),
			InvalidEmailError,
			title=_("Invalid E-mail"),
		)
	return value


def normalize_email_field(doc, fieldname: str) -> None:
	doc.set(fieldname, normalize_email(doc.get(fieldname), doc.meta.get_label(fieldname)))


IDENTIFIER_NAMES = {
	"inn": "INN",
	"kpp": "KPP",
	"ogrn": "OGRN",
	"ogrnip": "OGRNIP",
	"bik": "BIK",
	"account": "Settlement Account",
	"corr_account": "Correspondent Account",
}


def identifier_message(err: "identifiers.IdentifierError", label: str, value: str) -> str:
	name = _(IDENTIFIER_NAMES.get(err.identifier, err.identifier))
	params = err.params or {}
	label = _(label)
	if err.code == "empty":
		return _("{0} is empty").format(label)
	if err.code == "not_digits":
		return _("{0}: {1} must contain digits only, got '{2}'").format(label, name, value)
	if err.code == "length":
		expected = params.get("expected")
		if isinstance(expected, list | tuple):
			expected = _(" or ").join(str(x) for x in expected)
		return _("{0}: {1} must have {2} digits, got {3}").format(
			label, name, expected, params.get("actual", len(value))
		)
	if err.code == "checksum":
		return _("{0}: '{1}' is not a valid {2}: the check digit does not match").format(label, value, name)
	if err.code == "format":
		return _("{0}: '{1}' does not have the format of a {2}").format(label, value, name)
	if err.code == "bik_mismatch":
		return _("{0}: '{1}' does not match BIK {2}: the control key fails").format(
			label, value, params.get("bik", "")
		)
	return _("{0}: '{1}' is not a valid {2}").format(label, value, name)


def check_identifier(validator, value: str, label: str, *args, **kwargs) -> str:
	"""Run a validator from `simple_crm.utils.identifiers`; return the cleaned value or throw."""
	try:
		return validator(value, *args, **kwargs)
	except identifiers.IdentifierError as e:
		frappe.throw(
			identifier_message(e, label, value), InvalidIdentifierError, title=_("Invalid Requisites")
		)
