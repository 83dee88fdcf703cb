# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

"""A client's complaint (претензия): registered, worked on, resolved or rejected.

Its status moves through `CRM Complaint Workflow` (Registered → In Work → Resolved or Rejected; a head of
sales reopens a closed one), shipped in setup/workflows.json and then the administrator's to edit. The rules
here hold with or without the workflow, for the Desk, REST and Data Import alike:

- the deal, order and contact named must belong to the complaint's client (an empty client is taken from
  them);
- the responsible manager is the client's responsible manager unless someone is named;
- resolving or rejecting needs a resolution; the system records when (Resolved On) and how long it took
  (Days to Resolve: calendar time from Received On to Resolved On in days, two decimals, so 36 hours are
  1.5 days; a reopened complaint starts its clock again when it is closed anew, from Received On);
- a new complaint starts Registered unless a head of sales, an administrator or Data Import creates it
  (to load history, with its Resolved On), and a closed complaint is changed by those the workflow lets
  edit in that state only (a head of sales, an administrator).
"""

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.model.workflow import get_workflow, get_workflow_name
from frappe.utils import add_to_date, flt, get_datetime, now_datetime

from simple_crm import masters, workflows
from simple_crm.calls import client_of_contact
from simple_crm.client_links import client_of
from simple_crm.constants import CLOSED_COMPLAINT_STATUSES, COMPLAINT_REGISTERED
from simple_crm.permissions import set_default_responsible
from simple_crm.security.read_paths import shown

# a complaint "received" a little ahead of the server's clock is the browser's clock, not the future
CLOCK_SKEW_MINUTES = 5
SECONDS_PER_DAY = 86400


class ComplaintClientError(frappe.ValidationError):
	"""The complaint's deal, order or contact belongs to another client."""


class ResolutionRequiredError(frappe.ValidationError):
	pass


class ComplaintDateError(frappe.ValidationError):
	pass


class CRMComplaint(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		category: DF.Link
		client: DF.Link
		contact: DF.Link | None
		crm_order: DF.Link | None
		days_to_resolve: DF.Float
		deal: DF.Link | None
		description: DF.TextEditor
		received_on: DF.Datetime
		resolution: DF.SmallText | None
		resolved_on: DF.Datetime | None
		responsible: DF.Link | None
		status: DF.Literal["Registered", "In Work", "Resolved", "Rejected"]
		subject: DF.Data | None
	# end: auto-generated types

	def validate(self):
		self.set_client_from_links()
		self.validate_deal()
		self.validate_order()
		self.validate_contact()
		self.set_responsible()
		masters.check_not_disabled(self, "category", "CRM Complaint Category")
		self.set_subject()
		self.validate_received_on()
		self.validate_resolution()
		self.set_resolved_on()
		self.set_days_to_resolve()

	def validate_workflow(self):
		"""A new complaint may start in a later state when a head of sales, an administrator or Data Import
		creates it; a saved one keeps the workflow's "who may edit in this state" on the server too (Frappe
		v15 only makes the form read-only), then Frappe checks the move."""
		if not get_workflow_name(self.doctype):
			return
		if self.is_new():
			self.validate_new_status()
			return
		before = self.get_doc_before_save()
		if before is not None:
			workflows.check_state_editable(self, before)
		super().validate_workflow()

	# --- helpers -------------------------------------------------------------------------------------

	@property
	def previous(self):
		"""The complaint as stored before this save (None for a new one)."""
		return None if self.is_new() else self.get_doc_before_save()

	@property
	def closed(self) -> bool:
		return self.status in CLOSED_COMPLAINT_STATUSES

	def label(self, fieldname: str) -> str:
		return _(self.meta.get_label(fieldname))

	# --- steps ---------------------------------------------------------------------------------------

	def set_client_from_links(self):
		"""A complaint about a deal, an order or a contact person is a complaint of their client."""
		if self.client:
			return
		self.client = (
			client_of("CRM Deal", self.deal)
			or client_of("CRM Order", self.crm_order)
			or (client_of_contact(self.contact) if self.contact else None)
		)

	def validate_deal(self):
		if not self.deal:
			return
		deal_client = client_of("CRM Deal", self.deal)
		if deal_client != self.client:
			frappe.throw(
				_("Deal {0} belongs to client {1}, not to client {2} of this complaint").format(
					frappe.bold(self.deal), shown("CRM Client", deal_client), frappe.bold(self.client)
				),
				ComplaintClientError,
				title=_("Wrong Client"),
			)

	def validate_order(self):
		if not self.crm_order:
			return
		order = frappe.db.get_value("CRM Order", self.crm_order, ["client", "deal"], as_dict=True)
		if not order:
			return  # a link to nothing is Frappe's to refuse
		if order.client != self.client:
			frappe.throw(
				_("Order {0} belongs to client {1}, not to client {2} of this complaint").format(
					frappe.bold(self.crm_order), shown("CRM Client", order.client), frappe.bold(self.client)
				),
				ComplaintClientError,
				title=_("Wrong Client"),
			)
		if self.deal and order.deal and order.deal != self.deal:
			frappe.throw(
				_("Order {0} is part of deal {1}, not of deal {2}").format(
					frappe.bold(self.crm_order), shown("CRM Deal", order.deal), frappe.bold(self.deal)
				),
				ComplaintClientError,
				title=_("Wrong Deal"),
			)

	def validate_contact(self):
		if not self.contact or not self.client:
			return
		linked = frappe.db.exists(
			"Dynamic Link",
			{
				"parenttype": "Contact",
				"parent": self.contact,
				"link_doctype": "CRM Client",
				"link_name": self.client,
			},
		)
		if not linked:
			frappe.throw(
				_("{0} is not a contact person of client {1}").format(
					frappe.bold(self.contact), frappe.bold(self.client)
				),
				ComplaintClientError,
				title=_("Wrong Client"),
			)

	def set_responsible(self):
		"""Nobody named: the client's responsible manager works the complaint (else its author, as for
		every record: simple_crm.permissions.set_default_responsible)."""
		if not self.is_new() or self.responsible:
			return
		self.responsible = (
			frappe.db.get_value("CRM Client", self.client, "responsible") if self.client else None
		)
		set_default_responsible(self)

	def set_subject(self):
		self.subject = (self.subject or "").strip() or self.category

	def validate_received_on(self):
		if not self.received_on:
			self.received_on = now_datetime()
			return
		if self.previous is not None and not self.has_value_changed("received_on"):
			return
		if get_datetime(self.received_on) > add_to_date(now_datetime(), minutes=CLOCK_SKEW_MINUTES):
			frappe.throw(
				_("{0} cannot be in the future").format(self.label("received_on")),
				ComplaintDateError,
				title=_("Wrong Date"),
			)

	def validate_resolution(self):
		if self.closed and not (self.resolution or "").strip():
			frappe.throw(
				_("Describe the resolution to set the status {0}").format(frappe.bold(_(self.status))),
				ResolutionRequiredError,
				title=_("Resolution Required"),
			)

	def set_resolved_on(self):
		"""The system records when a complaint was closed; a complaint created closed (history loaded by a
		head of sales or Data Import) may bring its own date."""
		previous = self.previous
		if not self.closed:
			self.resolved_on = None
		elif previous is None:
			self.resolved_on = self.resolved_on or now_datetime()
		elif previous.status in CLOSED_COMPLAINT_STATUSES:
			self.resolved_on = previous.resolved_on
		else:
			self.resolved_on = now_datetime()
		if self.resolved_on and get_datetime(self.resolved_on) < get_datetime(self.received_on):
			frappe.throw(
				_("{0} cannot be before {1}").format(self.label("resolved_on"), self.label("received_on")),
				ComplaintDateError,
				title=_("Wrong Date"),
			)

	def set_days_to_resolve(self):
		if not self.resolved_on:
			self.days_to_resolve = 0
			return
		elapsed = get_datetime(self.resolved_on) - get_datetime(self.received_on)
		self.days_to_resolve = flt(elapsed.total_seconds() / SECONDS_PER_DAY, 2)

	def validate_new_status(self):
		"""Frappe's workflow check refuses every new document outside the workflow's first state, even a
		loaded history; a complaint starts Registered unless those who may load history create it."""
		workflow = get_workflow(self.doctype)
		first = workflow.states[0].state if workflow.states else COMPLAINT_REGISTERED
		state = self.get(workflow.workflow_state_field)
		if not state:
			self.set(workflow.workflow_state_field, first)
			return
		if state == first or frappe.flags.in_import or frappe.session.user == "Administrator":
			return
		if workflows.ANY_STAGE_ON_CREATE_ROLES.intersection(frappe.get_roles()):
			return
		frappe.throw(
			_("A new complaint starts with status {0}; change it after saving").format(frappe.bold(_(first))),
			workflows.InitialStageError,
		)


def on_doctype_update():
	# the report reads complaints by the time they were received, per manager
	frappe.db.add_index("CRM Complaint", ["received_on", "responsible"], "received_on_responsible_index")
	# the daily digest reads the complaints registered in its period; Frappe adds this index only when it
	# alters a table (same name, so never twice)
	frappe.db.add_index("CRM Complaint", ["creation"], "creation")
