# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import flt

from simple_crm import call_days
from simple_crm.automation.deal_follow_up import record_activity
from simple_crm.calls import client_of_contact, find_caller
from simple_crm.client_links import set_client_from
from simple_crm.permissions import set_default_responsible
from simple_crm.validation import normalize_phone_field


class CallDurationError(frappe.ValidationError):
	pass


class DuplicateCallError(frappe.UniqueValidationError):
	pass


class CRMCall(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		call_id: DF.Data | None
		call_status: DF.Literal["Answered", "Missed"]
		client: DF.Link | None
		comment: DF.SmallText | None
		contact: DF.Link | None
		deal: DF.Link | None
		direction: DF.Literal["Inbound", "Outbound"]
		duration: DF.Duration | None
		lead: DF.Link | None
		manager: DF.Link | None
		phone: DF.Data
		phone_normalized: DF.Data | None
		recording_url: DF.Data | None
		result: DF.Data | None
		started_at: DF.Datetime
		topic: DF.Data | None
	# end: auto-generated types

	def validate(self):
		self.set_manager()
		normalize_phone_field(self, "phone", "phone_normalized")
		self.validate_call_id()
		self.validate_duration()
		self.link_caller()
		self.set_client_from_links()

	def on_update(self):
		self.record_deal_activity()
		call_days.on_update(self)

	def on_trash(self):
		call_days.on_trash(self)

	def set_manager(self):
		"""A call logged by hand is the logging manager's call."""
		set_default_responsible(self, "manager")

	def validate_call_id(self):
		"""The PBX's id of the call: a call is recorded once."""
		self.call_id = (self.call_id or "").strip() or None
		if not self.call_id:
			return
		other = frappe.db.get_value("CRM Call", {"call_id": self.call_id, "name": ("!=", self.name or "")})
		if other:
			frappe.throw(
				_("Call {0} with PBX call ID {1} is already recorded").format(
					frappe.bold(other), self.call_id
				),
				DuplicateCallError,
				title=_("Duplicate Call"),
			)

	def validate_duration(self):
		if flt(self.duration) < 0:
			frappe.throw(_("The duration of a call cannot be negative"), CallDurationError)
		if self.call_status == "Missed":
			self.duration = 0

	def link_caller(self):
		"""A new call linked to nothing is linked to the one record its number belongs to, if any."""
		if not self.is_new() or self.lead or self.client or self.contact or self.deal:
			return
		caller = find_caller(self.phone_normalized)
		if caller:
			self.update(caller)

	def set_client_from_links(self):
		set_client_from(self, ("deal", "CRM Deal"))
		if not self.client and self.contact:
			self.client = client_of_contact(self.contact)

	def record_deal_activity(self):
		"""A call about a deal is activity on it, at the time the call took place: when it is logged, or
		when it is linked to the deal later."""
		if self.deal and self.has_value_changed("deal"):
			record_activity(self.deal, self.started_at or self.creation)


def on_doctype_update():
	# The manager activity report counts a period's calls per manager: named in the query, each manager's
	# range of the period is read from this index in turn and counted as it is read (a year of a
	# 2,000,000-call site in about a second), with no temporary table of the year's calls to group.
	frappe.db.add_index(
		"CRM Call",
		["manager", "started_at", "direction", "call_status", "duration"],
		"manager_started_at_index",
	)
