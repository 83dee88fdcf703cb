# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import flt, today

from simple_crm import dashboards, masters, pipelines, stage_history, stage_rules, workflows
from simple_crm.automation.deal_follow_up import record_activity
from simple_crm.client_links import check_counterparty_client, set_client_from
from simple_crm.integrity import check_deal_can_be_deleted
from simple_crm.masters import LostReasonRequiredError  # re-exported: the deal's own rule
from simple_crm.permissions import set_default_responsible
from simple_crm.security.read_paths import shown

__all__ = [
	"CRMDeal",
	"DealContactError",
	"DealCounterpartyError",
	"DealItemError",
	"DealManagerError",
	"DealPipelineError",
	"DealStageError",
	"LostReasonRequiredError",
	"WonDealError",
]


class DealStageError(frappe.ValidationError):
	pass


class DealPipelineError(frappe.ValidationError):
	pass


class WonDealError(frappe.ValidationError):
	pass


class DealCounterpartyError(frappe.ValidationError):
	pass


class DealContactError(frappe.ValidationError):
	pass


class DealManagerError(frappe.ValidationError):
	pass


class DealItemError(frappe.ValidationError):
	pass


class CRMDeal(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF
		from simple_crm.simple_crm.doctype.crm_deal_competitor.crm_deal_competitor import CRMDealCompetitor
		from simple_crm.simple_crm.doctype.crm_deal_contact.crm_deal_contact import CRMDealContact
		from simple_crm.simple_crm.doctype.crm_deal_item.crm_deal_item import CRMDealItem
		from simple_crm.simple_crm.doctype.crm_deal_manager.crm_deal_manager import CRMDealManager

		amount: DF.Currency
		client: DF.Link | None
		co_managers: DF.Table[CRMDealManager]
		competitors: DF.Table[CRMDealCompetitor]
		contacts: DF.Table[CRMDealContact]
		counterparty: DF.Link | None
		currency: DF.Link | None
		deal_name: DF.Data | None
		expected_close_date: DF.Date | None
		furthest_stage_order: DF.Int
		external_id: DF.Data | None
		items: DF.Table[CRMDealItem]
		items_total: DF.Currency
		last_activity_on: DF.Datetime | None
		lost_at_stage: DF.Data | None
		lost_comment: DF.SmallText | None
		lost_on: DF.Date | None
		lost_reason: DF.Link | None
		pipeline: DF.Link
		probability: DF.Percent
		responsible: DF.Link | None
		source_lead: DF.Link | None
		stage: DF.Literal[None]
		stage_type: DF.Literal["", "Open", "Won", "Lost"]
		won_on: DF.Date | None
	# end: auto-generated types

	def validate(self):
		self.set_defaults()
		self.validate_pipeline()
		self.set_stage()
		self.validate_stage()
		self.set_stage_type_and_probability()
		self.set_item_amounts()
		self.set_amount_from_items()
		self.set_client_from_counterparty()
		self.validate_counterparty()
		self.validate_contacts()
		self.validate_co_managers()
		self.validate_masters()
		self.validate_required_fields()
		self.set_title()
		self.apply_outcome()
		self.clear_lost_reason()
		self.keep_last_activity()

	def on_update(self):
		self.record_stage_move()
		if self.funnel_changed:
			dashboards.funnel_changed()

	def validate_workflow(self):
		"""Frappe's workflow check, adapted to pipelines: a new deal starts in its own pipeline's first
		stage (not the workflow's first state), a deal moved to another pipeline starts over there, and
		the roles allowed to edit in a stage hold on the server too (see simple_crm.workflows)."""
		if workflows.validate_deal_workflow(self):
			super().validate_workflow()

	def on_trash(self):
		check_deal_can_be_deleted(self)
		stage_history.delete_for(self.name)
		dashboards.funnel_changed()

	# --- helpers -------------------------------------------------------------------------------------

	@property
	def previous(self):
		"""The deal as stored before this save (None for a new deal)."""
		return None if self.is_new() else self.get_doc_before_save()

	@property
	def funnel_changed(self) -> bool:
		"""What the workspace's funnel chart counts changed: a new deal, or its stage, pipeline, amount or
		responsible manager."""
		previous = self.previous
		return previous is None or any(
			previous.get(field) != self.get(field) for field in ("stage", "pipeline", "amount", "responsible")
		)

	@property
	def stage_changed(self) -> bool:
		return self.previous is None or self.previous.stage != self.stage

	# --- steps ---------------------------------------------------------------------------------------

	def set_defaults(self):
		if not self.pipeline:
			self.pipeline = pipelines.default_pipeline()
		if not self.currency:
			self.currency = frappe.db.get_single_value("Simple CRM Settings", "default_currency")
		set_default_responsible(self)

	def validate_pipeline(self):
		if not self.pipeline:
			frappe.throw(_("Choose a pipeline: no default pipeline is set up"), DealPipelineError)
		moved = self.previous is None or self.previous.pipeline != self.pipeline
		if moved and frappe.db.get_value("CRM Pipeline", self.pipeline, "disabled"):
			frappe.throw(
				_("Pipeline {0} is disabled: new deals cannot be put in it").format(
					frappe.bold(self.pipeline)
				),
				DealPipelineError,
			)

	def set_stage(self):
		"""A new deal starts at its pipeline's first open stage; so does a deal moved to another
		pipeline whose stage was left as it was."""
		moved = self.previous is not None and self.previous.pipeline != self.pipeline
		left_as_it_was = moved and self.previous.stage == self.stage
		if not self.stage or left_as_it_was:
			first = pipelines.first_open_stage(self.pipeline)
			self.stage = first.stage_name if first else None

	def validate_stage(self):
		if not pipelines.get_stage(self.pipeline, self.stage):
			frappe.throw(
				_("Stage {0} is not a stage of pipeline {1}. Its stages are: {2}").format(
					frappe.bold(self.stage or ""),
					frappe.bold(self.pipeline),
					", ".join(s.stage_name for s in pipelines.get_stages(self.pipeline)),
				),
				DealStageError,
				title=_("Wrong Stage"),
			)

	def set_stage_type_and_probability(self):
		"""The stage type always follows the stage; the probability only when the stage changes, so a
		manager's own estimate stays until the deal moves on."""
		stage = pipelines.get_stage(self.pipeline, self.stage)
		self.stage_type = stage.stage_type
		if not self.stage_changed:
			return
		if self.previous is None:
			if self.probability is None:
				self.probability = stage.probability
		elif flt(self.previous.probability) == flt(self.probability):
			self.probability = stage.probability

	def validate_required_fields(self):
		"""A deal enters a stage only with the fields its pipeline requires there filled (simple_crm.stage_rules);
		a deal that stays in its stage is not held to a rule added after it got there."""
		if self.stage_changed:
			stage_rules.check_required_fields(
				self, pipelines.get_stage(self.pipeline, self.stage, with_rules=True)
			)

	def set_item_amounts(self):
		total = 0
		for item in self.items:
			discount = flt(item.discount_percentage)
			if not 0 <= discount <= 100:
				frappe.throw(
					_("Row #{0}: the discount must be between 0 and 100%, got {1}").format(
						item.idx, discount
					),
					DealItemError,
				)
			item.currency = self.currency
			item.amount = flt(flt(item.qty) * flt(item.rate) * (1 - discount / 100), item.precision("amount"))
			total += item.amount
		self.items_total = flt(total, self.precision("items_total"))
		for competitor in self.competitors:
			competitor.currency = self.currency

	def set_amount_from_items(self):
		"""The amount is the items' total unless a manager entered another amount."""
		if not self.items:
			return
		previous = self.previous
		followed_items = (
			previous is not None
			and previous.items
			and flt(previous.amount) == flt(previous.items_total)
			and flt(self.amount) == flt(previous.amount)
		)
		if not flt(self.amount) or followed_items:
			self.amount = self.items_total

	def set_client_from_counterparty(self):
		set_client_from(self, ("counterparty", "CRM Counterparty"))

	def validate_counterparty(self):
		check_counterparty_client(self, DealCounterpartyError)

	def validate_contacts(self):
		seen = set()
		for row in self.contacts:
			if row.contact in seen:
				frappe.throw(
					_("Row #{0}: contact {1} is listed twice").format(row.idx, frappe.bold(row.contact)),
					DealContactError,
				)
			seen.add(row.contact)
		primary = [row for row in self.contacts if row.is_primary]
		if len(primary) > 1:
			frappe.throw(_("Only one contact can be the primary one"), DealContactError)
		if self.contacts and not primary:
			self.contacts[0].is_primary = 1

	def validate_co_managers(self):
		seen = set()
		for row in self.co_managers:
			if row.user == self.responsible:
				frappe.throw(
					_("Row #{0}: {1} is the responsible manager and cannot also be a co-manager").format(
						row.idx, frappe.bold(row.user)
					),
					DealManagerError,
				)
			if row.user in seen:
				frappe.throw(
					_("Row #{0}: co-manager {1} is listed twice").format(row.idx, frappe.bold(row.user)),
					DealManagerError,
				)
			seen.add(row.user)

	def validate_masters(self):
		masters.check_lost_reason(self, "lost_reason", applies_to="Deal")
		for item in self.items:
			if item.product:
				masters.check_not_disabled(self, "product", "CRM Product", row=item)

	def set_title(self):
		if self.deal_name:
			return
		client_name = self.client and frappe.db.get_value("CRM Client", self.client, "client_name")
		first_item = self.items[0].item_name if self.items else None
		self.deal_name = " — ".join(part for part in (client_name, first_item) if part) or None

	def apply_outcome(self):
		if self.stage_type == pipelines.WON:
			self.apply_won()
		elif self.stage_type == pipelines.LOST:
			self.apply_lost()
		else:
			self.won_on = self.lost_on = self.lost_at_stage = None

	def apply_won(self):
		missing = []
		if flt(self.amount) <= 0:
			missing.append(_("an amount above zero"))
		if not self.client:
			missing.append(_("a client"))
		if missing:
			frappe.throw(
				_("A won deal needs {0}").format(_(" and ").join(missing)),
				WonDealError,
				title=_("Cannot Win the Deal"),
			)
		if self.stage_changed and (self.previous is not None or not self.won_on):
			self.won_on = today()
		self.lost_on = self.lost_at_stage = None

	def clear_lost_reason(self):
		"""A deal that is won, or leaves a lost stage (reopened), no longer carries why it was lost; the
		version log keeps the history. A reason entered on an open deal before it is lost stays."""
		if self.stage_type == pipelines.LOST:
			return
		left_lost = self.previous is not None and self.previous.stage_type == pipelines.LOST
		if left_lost or self.stage_type == pipelines.WON:
			self.lost_reason = self.lost_comment = None

	def apply_lost(self):
		if not self.lost_reason:
			frappe.throw(
				_("Choose the reason the deal was lost"),
				LostReasonRequiredError,
				title=_("Lost Reason Required"),
			)
		if self.stage_changed:
			if self.previous is not None:
				self.lost_at_stage = self.previous.stage
				self.lost_on = today()
			elif not self.lost_on:
				self.lost_on = today()
		self.won_on = None

	def keep_last_activity(self):
		"""The last activity is the system's to keep (see simple_crm.automation.deal_follow_up): a new deal
		starts with its creation, a saved deal keeps the stored time whatever the form or the request
		sent, so a deal object held in memory while activity was recorded does not write an older time
		back."""
		if self.previous is None:
			self.last_activity_on = self.creation
		else:
			self.last_activity_on = self.previous.last_activity_on

	def record_stage_move(self):
		"""A new deal enters its first stage; a move to another stage (or pipeline) goes into the deal's stage
		history and is activity on the deal. The activity is recorded after the save, as every activity is,
		so the move's own version shows the move only."""
		previous = self.previous
		if previous is None:
			stage_history.record_move(self, self.creation)
			return
		if previous.responsible != self.responsible:
			stage_history.follow_responsible(self.name, self.responsible)
		if self.stage_changed or previous.pipeline != self.pipeline:
			stage_history.record_move(self)
			record_activity(self.name)


def on_doctype_update():
	# the follow-up job reads open deals by their last activity (simple_crm.automation.deal_follow_up)
	frappe.db.add_index("CRM Deal", ["stage_type", "last_activity_on"], "stage_type_last_activity_index")
	# The Desk lists deals newest first (sort field `creation`): the first page is read from this index
	# backwards and stops after 20 visible rows instead of sorting the table. Frappe adds it only when it
	# alters the table; same name, so never twice.
	frappe.db.add_index("CRM Deal", ["creation"], "creation")
	# Open deals newest first, and their count: (stage_type, creation) reads the open deals in page order;
	# `responsible` makes it cover the row-level condition (simple_crm.permissions.rules), so counting a
	# manager's open deals reads the index only (that condition is an OR with sub-queries, which MariaDB
	# cannot seek; without the column it scans the table).
	frappe.db.add_index("CRM Deal", ["stage_type", "creation", "responsible"], "stage_type_creation_index")
	# The rules of clients, counterparties, orders and contacts read the clients of the user's deals
	# (`select client from tabCRM Deal where responsible in (...)`). For a head of sales the team holds a
	# fifth of the deals, and through the `responsible` index alone MariaDB prefers to scan the table;
	# with `client` beside it the sub-query is answered from the index.
	frappe.db.add_index("CRM Deal", ["responsible", "client"], "responsible_client_index")
	# The same sub-query tested per row (`client in (select client from tabCRM Deal where responsible in (...))`,
	# MariaDB's first match through the deals of each client) reads each deal's row for its manager through the
	# `client` index alone; beside it, the manager is in the index (a head's complaints: 0.43 s -> 0.18 s).
	frappe.db.add_index("CRM Deal", ["client", "responsible"], "client_responsible_index")
	# The reports of won deals (plan vs fact, manager activity, deal cycle) read a period's won deals by
	# `won_on` and sum their amounts per responsible manager or pipeline, the deal cycle also the days from
	# `creation`: answered from this index alone (a year of won deals in 0.3 s instead of 1.5 s through an
	# index without `creation`). It replaces the same index without `creation`, which MariaDB would still
	# pick for the deal cycle and read every deal's row besides.
	# `client`: the ABC matrix sums a window's won deals per client's activity level and class, joining each to
	# its client; with the client in the index it reads no deal's row (a director's year: 1.4 s -> 0.5 s).
	frappe.db.add_index(
		"CRM Deal",
		["stage_type", "won_on", "responsible", "pipeline", "amount", "creation", "client"],
		"won_deals_index",
	)
	for replaced in ("stage_type_won_on_index", "won_deals_report_index"):
		if frappe.db.has_index("tabCRM Deal", replaced):
			frappe.db.sql_ddl(f"alter table `tabCRM Deal` drop index `{replaced}`")
	# The lost reasons report reads a period's lost deals by `lost_on` per reason and stage lost at, summing
	# their amounts, filtered by manager and pipeline: answered from this index alone.
	frappe.db.add_index(
		"CRM Deal",
		["stage_type", "lost_on", "responsible", "pipeline", "lost_reason", "lost_at_stage", "amount"],
		"lost_deals_report_index",
	)
	# The lead sources report sums the won deals made from leads (`source_lead`): the won deals that have a
	# lead are read from this index alone, each joined to its lead by the lead's name.
	frappe.db.add_index(
		"CRM Deal", ["stage_type", "source_lead", "responsible", "amount"], "won_deals_by_lead_index"
	)
	# The manager activity and meetings per won deal reports count a period's won deals per manager: named in
	# the query, each manager's range of `won_on` is read in turn and counted as it is read (a year of a
	# 500,000-deal site in 0.06 s, against 0.3 s grouping the year's range of the index above).
	frappe.db.add_index("CRM Deal", ["responsible", "won_on", "amount"], "responsible_won_on_index")
	# The sales funnel counts a period's new deals of a pipeline per furthest stage reached, outcome and stage
	# they stand in, summing their amounts (and the responsible manager for the filters): from this index alone.
	frappe.db.add_index(
		"CRM Deal",
		["pipeline", "creation", "stage_type", "stage", "furthest_stage_order", "amount", "responsible"],
		"funnel_cohort_index",
	)
	# The workspace's chart of open deals by stage (Frappe's Group By chart: `stage_type = 'Open'` and
	# `docstatus < 2`, grouped by stage) and its card of their amount: from this index alone, for a head of sales
	# too (the manager and, implicit in every index, the name their rule tests). Through the `stage` index MariaDB
	# read every deal's row: 1.0-1.3 s against 0.05-0.15 s.
	frappe.db.add_index(
		"CRM Deal", ["stage_type", "stage", "docstatus", "responsible", "amount"], "open_deals_chart_index"
	)
	# The amount-per-stage report sums the open deals of a pipeline per stage: from this index alone.
	frappe.db.add_index(
		"CRM Deal", ["pipeline", "stage_type", "stage", "amount", "responsible"], "open_deals_by_stage_index"
	)
