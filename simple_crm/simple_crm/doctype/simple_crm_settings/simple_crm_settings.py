# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document

from simple_crm.pipelines import sync_deal_stage_options
from simple_crm.utils import phones


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

	def on_update(self):
		self.mark_default_pipeline()

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
