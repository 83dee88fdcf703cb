"""Behaviour simple_crm adds to Frappe's Contact (wired through doc_events in hooks.py)."""

import frappe

from simple_crm.duplicates import check_duplicates, delete_contact_points, sync_contact_points
from simple_crm.validation import normalize_email, normalize_phone


def validate(doc, method=None):
	normalize_contact_phones(doc)
	normalize_contact_emails(doc)
	check_duplicates(doc)


def normalize_contact_phones(doc):
	"""Each phone row keeps what was typed and gets its E.164 form beside it."""
	for row in doc.get("phone_nos") or []:
		row.phone = (row.phone or "").strip()
		row.crm_phone_normalized = normalize_phone(row.phone, "Phone") if row.phone else None


def normalize_contact_emails(doc):
	for row in doc.get("email_ids") or []:
		row.email_id = normalize_email(row.email_id, "Email Address")
	if doc.get("email_id"):
		doc.email_id = doc.email_id.strip().lower()


def on_update(doc, method=None):
	sync_contact_points(doc)


def on_trash(doc, method=None):
	delete_contact_points(doc)
