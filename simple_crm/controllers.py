"""Behaviour the CRM's own record doctypes share, in one base controller.

Leads, clients and counterparties are in the duplicate index (simple_crm.duplicates): their phones,
e-mails and INN are re-indexed after every save and rename (a merge moves links; the re-sync leaves exactly
the surviving record's values) and removed with the record. Values sent for fields above the user's
permission level (turnover and debt, filled by accounting) are refused with a message instead of being
dropped silently (simple_crm.permissions.refuse_unwritable_fields). Contact, Frappe's doctype, gets the same
through doc_events (simple_crm.contact_events).
"""

from frappe.model.document import Document

from simple_crm.duplicates import delete_contact_points, sync_contact_points
from simple_crm.permissions import refuse_unwritable_fields


class CRMRecord(Document):
	def validate_higher_perm_levels(self):
		refuse_unwritable_fields(self)
		super().validate_higher_perm_levels()

	def on_update(self):
		sync_contact_points(self)

	def after_rename(self, old: str, new: str, merge: bool = False):
		sync_contact_points(self)

	def on_trash(self):
		delete_contact_points(self)
