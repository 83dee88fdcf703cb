# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.utils import flt, now_datetime

from simple_crm.controllers import CRMRecord
from simple_crm.duplicates import check_duplicates
from simple_crm.utils import identifiers
from simple_crm.validation import (
	InvalidIdentifierError,
	check_identifier,
	normalize_email_field,
	normalize_phone_field,
)

LEGAL_ENTITY = "Legal Entity"
SOLE_PROPRIETOR = "Sole Proprietor"
# the kind of INN each counterparty type must have (simple_crm.utils.identifiers kinds)
INN_KIND = {LEGAL_ENTITY: "organisation", SOLE_PROPRIETOR: "individual"}


class DefaultBankAccountError(frappe.ValidationError):
	pass


class CRMCounterparty(CRMRecord):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF
		from simple_crm.simple_crm.doctype.crm_counterparty_bank_account.crm_counterparty_bank_account import (
			CRMCounterpartyBankAccount,
		)

		accounting_synced_on: DF.Datetime | None
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

	def validate(self):
		self.validate_inn()
		self.validate_kpp()
		self.validate_ogrn()
		self.validate_bank_accounts()
		self.set_default_bank_account()
		self.normalize_contact_details()
		self.date_typed_figures()
		check_duplicates(self)

	def on_update(self):
		super().on_update()
		self.refresh_figures()

	def after_delete(self):
		self.refresh_figures()

	def date_typed_figures(self):
		"""Debt and turnover typed in by someone allowed to (an administrator) count as accounting's figures
		from then on, as if accounting had sent them (simple_crm.integrations.exchange.figures)."""
		before = self.get_doc_before_save()
		old = (before.debt, before.turnover) if before else (0, 0)
		if (flt(self.debt), flt(self.turnover)) != (flt(old[0]), flt(old[1])):
			self.accounting_synced_on = now_datetime()

	def refresh_figures(self):
		"""The counterparty's own figures (from its orders until accounting sends them) and its clients',
		before and after the change."""
		from simple_crm.integrations.exchange import figures

		deleted = bool(self.flags.in_delete)
		before = None if deleted else self.get_doc_before_save()
		figures.refresh(
			counterparties=set() if deleted else {self.name},
			clients={self.client, before and before.client} - {None, ""},
		)

	def label(self, fieldname: str) -> str:
		return self.meta.get_label(fieldname)

	def validate_inn(self):
		"""10 digits for a legal entity, 12 for a sole proprietor, with the check digits."""
		if self.inn:
			kind = INN_KIND.get(self.counterparty_type)
			self.inn = check_identifier(identifiers.validate_inn, self.inn, self.label("inn"), kind)

	def validate_kpp(self):
		"""A legal entity's KPP has the format NNNN PP NNN; a sole proprietor has none."""
		if not self.kpp:
			return
		if self.counterparty_type == SOLE_PROPRIETOR:
			frappe.throw(
				_("{0} must be empty for a {1}: a sole proprietor has no KPP").format(
					_(self.label("kpp")), _(SOLE_PROPRIETOR)
				),
				InvalidIdentifierError,
				title=_("Invalid Requisites"),
			)
		self.kpp = check_identifier(identifiers.validate_kpp, self.kpp, self.label("kpp"))

	def validate_ogrn(self):
		"""OGRN (13 digits) for a legal entity, OGRNIP (15 digits) for a sole proprietor."""
		if not self.ogrn:
			return
		if self.counterparty_type == SOLE_PROPRIETOR:
			self.ogrn = check_identifier(identifiers.validate_ogrnip, self.ogrn, self.label("ogrn"))
		else:
			self.ogrn = check_identifier(
				identifiers.validate_ogrn, self.ogrn, self.label("ogrn"), "organisation"
			)

	def validate_bank_accounts(self):
		"""BIK, the settlement account against the BIK's control key, the correspondent account."""
		for row in self.bank_accounts:
			prefix = _("Bank Accounts, row {0}").format(row.idx)
			row.bik = check_identifier(
				identifiers.validate_bik, row.bik, "{}: {}".format(prefix, _(row.meta.get_label("bik")))
			)
			row.settlement_account = check_identifier(
				identifiers.validate_settlement_account,
				row.settlement_account,
				"{}: {}".format(prefix, _(row.meta.get_label("settlement_account"))),
				row.bik,
			)
			if row.corr_account:
				row.corr_account = check_identifier(
					identifiers.validate_corr_account,
					row.corr_account,
					"{}: {}".format(prefix, _(row.meta.get_label("corr_account"))),
					row.bik,
				)

	def set_default_bank_account(self):
		"""Exactly one default account when there are any: the first one unless the user chose."""
		if not self.bank_accounts:
			return
		defaults = [row for row in self.bank_accounts if row.is_default]
		if len(defaults) > 1:
			frappe.throw(
				_("Only one bank account can be the default one; rows {0} are all marked default").format(
					", ".join(str(row.idx) for row in defaults)
				),
				DefaultBankAccountError,
				title=_("Default Bank Account"),
			)
		if not defaults:
			self.bank_accounts[0].is_default = 1

	def normalize_contact_details(self):
		normalize_phone_field(self, "phone", "phone_normalized")
		normalize_email_field(self, "email")
