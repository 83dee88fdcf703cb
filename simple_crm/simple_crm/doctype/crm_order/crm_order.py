# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

# import frappe
from frappe.model.document import Document


class CRMOrder(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		amount: DF.Currency
		client: DF.Link | None
		counterparty: DF.Link | None
		currency: DF.Link | None
		deal: DF.Link | None
		external_id: DF.Data
		order_date: DF.Date | None
		order_number: DF.Data | None
		paid_amount: DF.Currency
		status: DF.Data | None
		synced_on: DF.Datetime | None
	# end: auto-generated types
	pass
