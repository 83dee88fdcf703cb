# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt


from simple_crm.controllers import CRMRecord
from simple_crm.duplicates import check_duplicates
from simple_crm.integrity import check_client_can_be_deleted
from simple_crm.permissions import set_default_responsible
from simple_crm.validation import normalize_email_field, normalize_phone_field


# written by the nightly jobs only
COMPUTED_FIELDS = ("activity_level", "abc_class")


class CRMClient(CRMRecord):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF
		from simple_crm.simple_crm.doctype.crm_important_date.crm_important_date import CRMImportantDate

		abc_class: DF.Literal["", "A", "B", "C"]
		accounting_synced_on: DF.Datetime | None
		activity_level: DF.Literal["", "Active", "Sleeping", "Lost"]
		birthday: DF.Date | None
		client_name: DF.Data
		client_type: DF.Literal["Organisation", "Individual"]
		currency: DF.Link | None
		debt: DF.Currency
		description: DF.TextEditor | None
		email: DF.Data | None
		external_id: DF.Data | None
		holding: DF.Link | None
		important_dates: DF.Table[CRMImportantDate]
		phone: DF.Data | None
		phone_normalized: DF.Data | None
		responsible: DF.Link | None
		segment: DF.Link | None
		source_lead: DF.Link | None
		turnover: DF.Currency
		website: DF.Data | None
	# end: auto-generated types

	def validate(self):
		self.keep_computed_fields()
		set_default_responsible(self)
		self.normalize_contact_details()
		check_duplicates(self)

	def keep_computed_fields(self):
		"""Activity level and ABC class are the nightly jobs' (simple_crm.automation.client_classes): a form
		opened before the night and saved after it, or a request sending them, does not change them."""
		before = self.get_doc_before_save()
		if before:
			for fieldname in COMPUTED_FIELDS:
				self.set(fieldname, before.get(fieldname))

	def on_trash(self):
		check_client_can_be_deleted(self)
		super().on_trash()

	def normalize_contact_details(self):
		normalize_phone_field(self, "phone", "phone_normalized")
		normalize_email_field(self, "email")
