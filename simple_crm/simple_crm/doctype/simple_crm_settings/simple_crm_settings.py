# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import cint, flt

from simple_crm.pipelines import sync_deal_stage_options
from simple_crm.utils import phones


# cards a column of a deals kanban shows (simple_crm.kanban.board_cards)
DEFAULT_KANBAN_CARDS = 50
MAX_KANBAN_CARDS = 500


class InvalidSettingsError(frappe.ValidationError):
	pass


class SimpleCRMSettings(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		default_currency: DF.Link | None
		default_phone_region: DF.Data
		default_pipeline: DF.Link | None
		duplicate_policy: DF.Literal["Warn", "Block"]
	# end: auto-generated types

	def validate(self):
		self.validate_phone_region()
		self.validate_default_pipeline()
		self.validate_kanban()
		self.validate_automation()
		self.validate_accounting_exchange()
		self.validate_email_inbox()

	def on_update(self):
		self.mark_default_pipeline()
		self.update_email_inbox()

	def validate_phone_region(self):
		region = (self.default_phone_region or "").strip().upper()
		if not phones.is_supported_region(region):
			frappe.throw(
				_("Default Phone Region: '{0}' is not a known two-letter country code, e.g. RU or KZ").format(
					self.default_phone_region
				),
				InvalidSettingsError,
			)
		self.default_phone_region = region

	def validate_default_pipeline(self):
		if self.default_pipeline and frappe.db.get_value("CRM Pipeline", self.default_pipeline, "disabled"):
			frappe.throw(
				_("Pipeline {0} is disabled and cannot be the default").format(
					frappe.bold(self.default_pipeline)
				),
				InvalidSettingsError,
			)

	def validate_kanban(self):
		# a site that had the settings before this field gets its default
		self.kanban_cards_per_column = cint(self.kanban_cards_per_column) or DEFAULT_KANBAN_CARDS
		if not 1 <= self.kanban_cards_per_column <= MAX_KANBAN_CARDS:
			frappe.throw(
				_("{0} must be from 1 to {1}").format(
					_(self.meta.get_label("kanban_cards_per_column")), MAX_KANBAN_CARDS
				),
				InvalidSettingsError,
			)

	def validate_accounting_exchange(self):
		from simple_crm.integrations.exchange import settings as exchange_settings

		exchange_settings.validate(self)

	def validate_automation(self):
		"""The numbers of the Automation tab make sense together; nothing is saved otherwise."""
		errors = []
		for fieldname in ("morning_summary_hour", "daily_digest_hour"):
			if not 0 <= cint(self.get(fieldname)) <= 23:
				errors.append(_("{0} must be an hour from 0 to 23").format(_(self.meta.get_label(fieldname))))
		for fieldname in (
			"callback_minutes",
			"lead_sla_minutes",
			"deal_inactivity_days",
			"sleeping_after_days",
			"lost_after_days",
			"automation_batch_size",
			"background_hand_over_threshold",
		):
			if cint(self.get(fieldname)) < 1:
				errors.append(_("{0} must be at least 1").format(_(self.meta.get_label(fieldname))))
		if cint(self.overdue_escalation_hours) < 0 or cint(self.important_date_days_ahead) < 0:
			errors.append(_("Hours and days ahead cannot be negative"))
		if cint(self.lost_after_days) <= cint(self.sleeping_after_days):
			errors.append(
				_("A client must be Sleeping before it is Lost: Lost After must exceed Sleeping After")
			)
		a, b = flt(self.abc_a_share), flt(self.abc_b_share)
		if not (0 < a < b <= 100):
			errors.append(
				_(
					"ABC shares: class A's share must be above 0 and below the A + B share, which is at most 100%"
				)
			)
		if errors:
			frappe.throw("<br>".join(errors), InvalidSettingsError, title=_("Automation Settings"))

	def validate_email_inbox(self):
		from simple_crm.integrations import email

		email.validate_inbox(self)

	def update_email_inbox(self):
		from simple_crm.integrations import email

		email.on_settings_update(self)

	def mark_default_pipeline(self):
		"""The pipeline chosen here becomes the default one (CRM Pipeline.is_default follows)."""
		if not self.default_pipeline or not self.has_value_changed("default_pipeline"):
			return
		table = frappe.qb.DocType("CRM Pipeline")
		frappe.qb.update(table).set(table.is_default, 0).where(
			(table.is_default == 1) & (table.name != self.default_pipeline)
		).run()
		frappe.qb.update(table).set(table.is_default, 1).where(table.name == self.default_pipeline).run()
		# the default pipeline's stages come first in the stage options
		sync_deal_stage_options()
