# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model import no_value_fields
from frappe.model.workflow import get_workflow_name
from frappe.utils import now_datetime

from simple_crm import workflows
from simple_crm.controllers import CRMRecord
from simple_crm.duplicates import check_duplicates
from simple_crm.integrity import check_lead_can_be_deleted
from simple_crm.masters import LostReasonRequiredError, check_lost_reason, check_not_disabled
from simple_crm.permissions import set_default_responsible
from simple_crm.validation import normalize_email_field, normalize_phone_field
from simple_crm.integrations.telegram import check_chat_field
from simple_crm.constants import LEAD_CONVERTED

# statuses that close a lead without a sale; each needs a lost reason
LOST_STATUSES = ("Lost", "Disqualified")
CONVERTED = LEAD_CONVERTED
# what the conversion fills in on the lead, besides the status
CONVERSION_MARKS = ("client", "contact", "deal", "converted_on")


class LeadConvertedError(frappe.ValidationError):
	pass


class ConversionMarksError(frappe.ValidationError):
	"""Status Converted, client, contact, deal or converted-on set otherwise than by the conversion."""


__all__ = ["CRMLead", "ConversionMarksError", "LeadConvertedError", "LostReasonRequiredError"]


class CRMLead(CRMRecord):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		campaign: DF.Data | None
		channel: DF.Literal[
			"", "Website", "Phone", "Email", "Messenger", "Social", "Referral", "Exhibition", "Other"
		]
		client: DF.Link | None
		company_name: DF.Data | None
		contact: DF.Link | None
		converted_on: DF.Datetime | None
		deal: DF.Link | None
		email: DF.Data | None
		first_response_on: DF.Datetime | None
		interest: DF.SmallText | None
		lead_name: DF.Data
		lost_comment: DF.SmallText | None
		lost_reason: DF.Link | None
		mobile_no: DF.Data | None
		mobile_no_normalized: DF.Data | None
		phone: DF.Data | None
		phone_normalized: DF.Data | None
		received_on: DF.Datetime | None
		responsible: DF.Link | None
		source: DF.Link | None
		status: DF.Literal["New", "In Progress", "Qualified", "Converted", "Disqualified"]
		telegram_chat_id: DF.Data | None
		utm_campaign: DF.Data | None
		utm_content: DF.Data | None
		utm_medium: DF.Data | None
		utm_source: DF.Data | None
		utm_term: DF.Data | None
		website: DF.Data | None
	# end: auto-generated types

	def validate(self):
		self.validate_converted_is_read_only()
		check_chat_field(self)
		set_default_responsible(self)
		self.set_channel_from_source()
		self.normalize_contact_details()
		self.validate_masters()
		self.validate_lost_reason()
		self.clear_lost_reason()
		self.set_first_response()
		check_duplicates(self)

	def validate_workflow(self):
		"""A new lead may start outside the workflow's first state when a head of sales, an administrator
		or Data Import creates it (see simple_crm.workflows); moves of a saved lead are Frappe's to check.
		Then, whatever the workflow allows (and with no workflow at all), only the conversion makes a lead
		Converted; checked after the workflow so that a refused move is told as such first."""
		if self.is_new() and get_workflow_name(self.doctype):
			workflows.validate_new_lead_status(self)
		else:
			super().validate_workflow()
		self.validate_conversion_marks()

	def set_first_response(self):
		"""The first time a lead leaves New is when the company first responded to it."""
		if not self.received_on:
			self.received_on = now_datetime()
		if self.status != "New" and not self.first_response_on:
			self.first_response_on = now_datetime()

	def on_trash(self):
		check_lead_can_be_deleted(self)
		super().on_trash()

	def validate_converted_is_read_only(self):
		"""A converted lead is history; only the conversion itself (flags.from_conversion) writes it."""
		if self.is_new() or self.flags.from_conversion:
			return
		before = self.get_doc_before_save()
		if not before or before.status != CONVERTED:
			return
		changed = self.changed_fields()
		if changed:
			frappe.throw(
				_("Lead {0} is converted and can no longer be changed (changed: {1})").format(
					self.name, ", ".join(_(self.meta.get_label(f)) for f in changed)
				),
				LeadConvertedError,
				title=_("Converted Lead"),
			)

	def validate_conversion_marks(self):
		"""Only the conversion (flags.from_conversion) sets a lead Converted and fills in what it became: a
		lead marked so by hand over REST would point at a client it never became, and could never be
		deleted (simple_crm.integrity keeps converted leads as history).

		One exception: Data Import may bring in historic leads as Converted when the row names the client
		the lead became (contact and deal optional). The client link is what makes such a lead history and
		not a half-converted one; its conversion time defaults to when it was received."""
		if self.flags.from_conversion:
			return
		before = None if self.is_new() else self.get_doc_before_save()
		if before and before.status == CONVERTED:
			return  # read-only, see validate_converted_is_read_only
		if before is None and self.status == CONVERTED and frappe.flags.in_import and self.client:
			self.converted_on = self.converted_on or self.received_on or now_datetime()
			return
		marked = [
			fieldname
			for fieldname in CONVERSION_MARKS
			if self.get(fieldname) and (before is None or self.has_value_changed(fieldname))
		]
		if self.status == CONVERTED:
			marked.insert(0, "status")
		if marked:
			frappe.throw(
				_("{0} can only be set by converting the lead (the Convert button)").format(
					", ".join(frappe.bold(_(self.meta.get_label(f))) for f in marked)
				),
				ConversionMarksError,
				title=_("Convert the Lead"),
			)

	def changed_fields(self) -> list[str]:
		before = self.get_doc_before_save()
		return [
			df.fieldname
			for df in self.meta.fields
			if df.fieldtype not in no_value_fields
			and (before.get(df.fieldname) or self.get(df.fieldname))
			and self.has_value_changed(df.fieldname)
		]

	def set_channel_from_source(self):
		"""The channel follows the source unless the user chose a channel of their own."""
		if not self.source:
			return
		if self.channel and (
			self.is_new() or not self.has_value_changed("source") or self.has_value_changed("channel")
		):
			return
		channel = frappe.db.get_value("CRM Lead Source", self.source, "channel")
		if channel:
			self.channel = channel

	def normalize_contact_details(self):
		normalize_phone_field(self, "phone", "phone_normalized")
		normalize_phone_field(self, "mobile_no", "mobile_no_normalized")
		normalize_email_field(self, "email")

	def validate_masters(self):
		check_not_disabled(self, "source", "CRM Lead Source")
		check_lost_reason(self, applies_to="Lead")

	def validate_lost_reason(self):
		if self.status in LOST_STATUSES and not self.lost_reason:
			frappe.throw(
				_("Select a lost reason to set the status {0}").format(_(self.status)),
				LostReasonRequiredError,
				title=_("Lost Reason Required"),
			)

	def clear_lost_reason(self):
		"""A lead that leaves a lost status (reopened) or is converted no longer carries why it was lost;
		the version log keeps the history."""
		if self.status in LOST_STATUSES:
			return
		before = None if self.is_new() else self.get_doc_before_save()
		if (before and before.status in LOST_STATUSES) or self.status == CONVERTED:
			self.lost_reason = self.lost_comment = None


def on_doctype_update():
	# The Desk lists leads newest first (sort field `creation`). With this index the first page is read
	# from the newest entry backwards and stops after 20 visible rows, for a director and under the
	# row-level condition alike; without it MariaDB reads and sorts the whole table. Frappe adds an index
	# on `creation` only when it alters the table, so it is declared here (same name, so never twice).
	frappe.db.add_index("CRM Lead", ["creation"], "creation")
	# The lead reports count a period's leads per manager and month (simple_crm.simple_crm.report): with
	# every column they read or filter on in the index, a year of leads is read from it alone, not row by
	# row from the table.
	frappe.db.add_index(
		"CRM Lead",
		["received_on", "responsible", "status", "first_response_on", "channel", "source"],
		"received_on_report_index",
	)
	# The workspace's chart of leads by source (Frappe's Group By chart, `docstatus < 2`, grouped by source):
	# from this index alone, a head of sales' too, instead of reading the table (0.57 s for a million leads
	# against 0.19 s).
	frappe.db.add_index("CRM Lead", ["source", "docstatus", "responsible"], "leads_by_source_index")
	# The lost reasons report counts a period's disqualified leads per lost reason: read from this index
	# alone (a status, then the received dates in order).
	frappe.db.add_index(
		"CRM Lead", ["status", "received_on", "responsible", "lost_reason"], "status_received_on_report_index"
	)
