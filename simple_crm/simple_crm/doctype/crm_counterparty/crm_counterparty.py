# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

# import frappe
from frappe.model.document import Document


class CRMCounterparty(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF
		from simple_crm.simple_crm.doctype.crm_counterparty_bank_account.crm_counterparty_bank_account import CRMCounterpartyBankAccount

		bank_accounts: DF.Table[CRMCounterpartyBankAccount]
		client: DF.Link | None
		counterparty_type: DF.Literal["Legal Entity", "Sole Proprietor"]
		currency: DF.Link | None
		debt: DF.Currency
		director: DF.Data | None
		director_position: DF.Data | None
		email: DF.Data | None
		external_id: DF.Data | None
		full_name: DF.Data
		inn: DF.Data | None
		is_client_itself: DF.Check
		kpp: DF.Data | None
		legal_address: DF.SmallText | None
		legal_form: DF.Data | None
		ogrn: DF.Data | None
		phone: DF.Data | None
		phone_normalized: DF.Data | None
		postal_address: DF.SmallText | None
		short_name: DF.Data | None
		signatory_basis: DF.Data | None
		turnover: DF.Currency
		vat_status: DF.Literal["With VAT", "Without VAT"]
	# end: auto-generated types
	pass
