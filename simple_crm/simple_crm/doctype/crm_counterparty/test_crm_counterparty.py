# Copyright (c) 2026, simple_crm developers and Contributors
# See license.txt

import random

import frappe

from simple_crm.simple_crm.doctype.crm_counterparty.crm_counterparty import DefaultBankAccountError
from simple_crm.tests.factories import unique
from simple_crm.tests.utils import CRMRestTestCase, CRMTestCase
from simple_crm.utils import identifiers
from simple_crm.validation import InvalidEmailError, InvalidIdentifierError, InvalidPhoneError

# Sberbank's real requisites
SBER = {"inn": "7707083893", "kpp": "773601001", "ogrn": "1027700132195"}
SBER_BIK = "044525225"
SBER_CORR = "30101810400000000225"
# a settlement account that passes the control key of Sberbank's BIK
ACCOUNT = identifiers.make_settlement_account(random.Random(7), SBER_BIK)


def mutate(value: str, position: int = -1) -> str:
	"""`value` with the digit at `position` changed (so its check digit no longer matches)."""
	digits = list(value)
	digits[position] = str((int(digits[position]) + 1) % 10)
	return "".join(digits)


def counterparty(**kwargs):
	return frappe.get_doc(
		{
			"doctype": "CRM Counterparty",
			"full_name": unique("Публичное акционерное общество "),
			"counterparty_type": "Legal Entity",
			**kwargs,
		}
	)


def bank_row(**kwargs):
	return {
		"bank_name": "ПАО Сбербанк",
		"bik": SBER_BIK,
		"settlement_account": ACCOUNT,
		"corr_account": SBER_CORR,
		**kwargs,
	}


class TestCounterpartyRequisites(CRMTestCase):
	def assertRefused(self, doc, *fragments):
		with self.assertRaises(InvalidIdentifierError) as ctx:
			doc.insert()
		for fragment in fragments:
			self.assertIn(fragment, str(ctx.exception))

	def test_real_legal_entity_requisites_pass(self):
		doc = counterparty(**SBER, bank_accounts=[bank_row()]).insert()
		self.assertEqual((doc.inn, doc.kpp, doc.ogrn), (SBER["inn"], SBER["kpp"], SBER["ogrn"]))
		self.assertEqual(doc.bank_accounts[0].settlement_account, ACCOUNT)

	def test_separators_are_removed(self):
		doc = counterparty(inn="7707 083 893", kpp="7736 01 001", ogrn="1-027-700-132-195").insert()
		self.assertEqual((doc.inn, doc.kpp, doc.ogrn), (SBER["inn"], SBER["kpp"], SBER["ogrn"]))

	def test_inn_checksum(self):
		self.assertRefused(counterparty(inn=mutate(SBER["inn"])), "INN", "check digit")

	def test_inn_kind_follows_type(self):
		person_inn = identifiers.make_inn(random.Random(1), "individual")
		self.assertRefused(counterparty(inn=person_inn), "INN", "must have 10 digits")
		self.assertRefused(
			counterparty(counterparty_type="Sole Proprietor", inn=SBER["inn"]), "INN", "must have 12 digits"
		)

	def test_kpp_format(self):
		self.assertRefused(counterparty(inn=SBER["inn"], kpp="77360100"), "KPP", "must have 9 digits")
		self.assertRefused(counterparty(inn=SBER["inn"], kpp="7736-01-0A1"), "KPP", "format")

	def test_ogrn(self):
		self.assertRefused(counterparty(ogrn=mutate(SBER["ogrn"])), "OGRN", "check digit")
		ogrnip = identifiers.make_ogrnip(random.Random(2))
		self.assertRefused(counterparty(ogrn=ogrnip), "OGRN", "must have 13 digits")

	def test_sole_proprietor(self):
		rng = random.Random(3)
		inn = identifiers.make_inn(rng, "individual")
		ogrnip = identifiers.make_ogrnip(rng)
		doc = counterparty(counterparty_type="Sole Proprietor", inn=inn, ogrn=ogrnip).insert()
		self.assertEqual((doc.inn, doc.ogrn), (inn, ogrnip))
		self.assertRefused(
			counterparty(counterparty_type="Sole Proprietor", inn=inn, kpp=SBER["kpp"]),
			"KPP",
			"must be empty",
		)
		self.assertRefused(
			counterparty(counterparty_type="Sole Proprietor", inn=inn, ogrn=SBER["ogrn"]),
			"OGRNIP",
			"15 digits",
		)
		self.assertRefused(
			counterparty(counterparty_type="Sole Proprietor", inn=inn, ogrn=mutate(ogrnip)),
			"OGRNIP",
			"check digit",
		)

	def test_bank_account_rules(self):
		self.assertRefused(counterparty(bank_accounts=[bank_row(bik="04452522")]), "row 1", "BIK", "9 digits")
		self.assertRefused(
			counterparty(bank_accounts=[bank_row(settlement_account=mutate(ACCOUNT))]),
			"row 1",
			"Settlement Account",
			"does not match BIK 044525225",
		)
		# an account valid for another bank fails the control key of this BIK
		other = identifiers.make_settlement_account(random.Random(4), "044525974")
		self.assertRefused(
			counterparty(bank_accounts=[bank_row(settlement_account=other)]), "does not match BIK"
		)
		self.assertRefused(
			counterparty(bank_accounts=[bank_row(), bank_row(corr_account=mutate(SBER_CORR, 12))]),
			"row 2",
			"Correspondent Account",
			"does not match BIK",
		)
		self.assertRefused(
			counterparty(bank_accounts=[bank_row(corr_account="40101810400000000225")]),
			"Correspondent Account",
			"format",
		)

	def test_first_account_becomes_default_and_only_one_default(self):
		doc = counterparty(bank_accounts=[bank_row(), bank_row()]).insert()
		self.assertEqual([r.is_default for r in doc.bank_accounts], [1, 0])
		doc.bank_accounts[0].is_default = 0
		doc.bank_accounts[1].is_default = 1
		doc.save()
		self.assertEqual([r.is_default for r in doc.bank_accounts], [0, 1])
		with self.assertRaises(DefaultBankAccountError):
			counterparty(bank_accounts=[bank_row(is_default=1), bank_row(is_default=1)]).insert()

	def test_phone_and_email(self):
		doc = counterparty(phone="8 (495) 500-55-50", email="Info@SberBank.ru").insert()
		self.assertEqual(doc.phone_normalized, "+74955005550")
		self.assertEqual(doc.email, "info@sberbank.ru")
		with self.assertRaises(InvalidPhoneError):
			counterparty(phone="звоните в офис").insert()
		with self.assertRaises(InvalidEmailError):
			counterparty(email="info@").insert()

	def test_nothing_saved_on_error(self):
		before = frappe.db.count("CRM Counterparty")
		with self.assertRaises(InvalidIdentifierError):
			counterparty(inn=mutate(SBER["inn"])).insert()
		self.assertEqual(frappe.db.count("CRM Counterparty"), before)


class TestCounterpartyRest(CRMRestTestCase):
	def test_rest_requisites(self):
		r = self.rest_insert(
			"CRM Counterparty",
			{
				"full_name": unique("ПАО "),
				"counterparty_type": "Legal Entity",
				"inn": "7707 083 893",
				**{k: v for k, v in SBER.items() if k != "inn"},
				"bank_accounts": [bank_row()],
			},
		)
		self.assertEqual(r.status_code, 200, r.text)
		self.assertEqual(r.data["inn"], SBER["inn"])
		self.assertEqual(r.data["bank_accounts"][0]["is_default"], 1)

		before = frappe.db.count("CRM Counterparty")
		r = self.rest_insert("CRM Counterparty", {"full_name": unique("ПАО "), "inn": mutate(SBER["inn"])})
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("InvalidIdentifierError", r.json.get("exc_type", ""))
		self.assertIn("is not a valid INN: the check digit does not match", r.error_text())

		r = self.rest_insert(
			"CRM Counterparty",
			{"full_name": unique("ПАО "), "bank_accounts": [bank_row(settlement_account=mutate(ACCOUNT))]},
		)
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("does not match BIK 044525225", r.error_text())

		r = self.rest_insert(
			"CRM Counterparty",
			{"full_name": unique("ИП "), "counterparty_type": "Sole Proprietor", "kpp": SBER["kpp"]},
		)
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("must be empty for a Sole Proprietor", r.error_text())
		frappe.db.rollback()
		self.assertEqual(frappe.db.count("CRM Counterparty"), before)
