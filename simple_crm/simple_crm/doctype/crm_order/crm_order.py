# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document

from simple_crm.client_links import check_counterparty_client, client_of, set_client_from
from simple_crm.security.read_paths import shown


class OrderClientError(frappe.ValidationError):
	"""The order's deal, client and counterparty do not belong together."""


class CRMOrder(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		amount: DF.Currency
		client: DF.Link | None
		counterparty: DF.Link | None
		counterparty_external_id: DF.Data | None
		currency: DF.Link | None
		deal: DF.Link | None
		external_id: DF.Data
		order_date: DF.Date | None
		order_number: DF.Data | None
		paid_amount: DF.Currency
		status: DF.Data | None
		synced_on: DF.Datetime | None
	# end: auto-generated types

	def validate(self):
		self.clean_external_id()
		self.set_client()
		self.validate_deal_client()
		self.validate_counterparty_client()
		self.set_defaults()

	def clean_external_id(self):
		"""The upsert key of the accounting exchange: compared without surrounding spaces."""
		self.external_id = (self.external_id or "").strip()

	def set_client(self):
		set_client_from(self, ("deal", "CRM Deal"), ("counterparty", "CRM Counterparty"))

	def validate_deal_client(self):
		if not self.deal:
			return
		deal_client = client_of("CRM Deal", self.deal)
		if deal_client and deal_client != self.client:
			frappe.throw(
				_("Order client {0} differs from client {1} of deal {2}").format(
					frappe.bold(self.client or _("(none)")),
					shown("CRM Client", deal_client),
					frappe.bold(self.deal),
				),
				OrderClientError,
			)

	def validate_counterparty_client(self):
		check_counterparty_client(self, OrderClientError)

	def on_update(self):
		self.refresh_figures()

	def after_delete(self):
		self.refresh_figures()

	def refresh_figures(self):
		"""The turnover and debt of the counterparties and clients this order counts for, before and after
		the change (simple_crm.integrations.exchange.figures)."""
		from simple_crm.integrations.exchange import figures

		before = self.get_doc_before_save()
		figures.refresh(
			counterparties={self.counterparty, before and before.counterparty} - {None, ""},
			clients={self.client, before and before.client} - {None, ""},
		)

	def set_defaults(self):
		if not self.order_number:
			self.order_number = self.external_id
		if not self.currency:
			self.currency = (self.deal and frappe.db.get_value("CRM Deal", self.deal, "currency")) or (
				frappe.db.get_single_value("Simple CRM Settings", "default_currency")
			)
