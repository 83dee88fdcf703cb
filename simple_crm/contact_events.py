"""Behaviour simple_crm adds to Frappe's Contact (wired through doc_events in hooks.py).

Only the CRM's contacts get it (see `simple_crm.duplicates.is_tracked`): a contact that belongs to
a user, or one linked only to another app's records (an ERPNext Supplier), is left as Frappe keeps it.
"""

from simple_crm.duplicates import check_duplicates, delete_contact_points, is_tracked, sync_contact_points
from simple_crm.integrations.telegram import check_chat_field
from simple_crm.validation import normalize_email_field, normalize_phone_field


def validate(doc, method=None):
	check_chat_field(doc)
	if not is_tracked(doc):
		return
	normalize_contact_phones(doc)
	normalize_contact_emails(doc)
	check_duplicates(doc)


def normalize_contact_phones(doc):
	"""Each phone row keeps what was typed and gets its E.164 form beside it."""
	for row in doc.get("phone_nos") or []:
		normalize_phone_field(row, "phone", "crm_phone_normalized")


def normalize_contact_emails(doc):
	for row in doc.get("email_ids") or []:
		normalize_email_field(row, "email_id")
	if doc.get("email_id"):
		doc.email_id = doc.email_id.strip().lower()


def on_update(doc, method=None):
	sync_contact_points(doc)


def after_rename(doc, method=None, old=None, new=None, merge=False):
	sync_contact_points(doc)


def on_trash(doc, method=None):
	delete_contact_points(doc)


def before_test_insert(doc, method=None):
	"""Frappe's own test contacts (sample numbers such as "+91 0000000000") are not CRM contacts."""
	doc.flags.ignore_crm_rules = True
