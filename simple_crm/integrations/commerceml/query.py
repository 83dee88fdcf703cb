"""The answer to 1C's `query`: what the CRM has that 1C does not know yet, as CommerceML 2.

Listed are the records made in the CRM that carry no ID of accounting's and were not delivered before:

- counterparties (CRM Counterparty without External ID), each as a Контрагент with the role Покупатель;
- clients without External ID and without any counterparty (a person, a client converted from a lead before
  anyone entered its legal entity), each as a Контрагент too;
- orders entered in the CRM (CRM Order without External ID), each as a Документ "Заказ товара" with its
  counterparty (or client) and the requisite "Сделка CRM" naming its deal.

The Ид of each is the CRM's name (CP-00012, CL-00031, ORD-00007). A query lists at most the exchange's batch
limit; `mark_delivered` (1C's `success`) records what the last query listed as delivered (a CRM Automation Mark
per record), so the next query lists the rest; a query not confirmed lists the same records again. A
counterparty 1C sends back later with its own Ид and the same INN and KPP takes that ID (see the accounting
exchange's counterparties).
"""

from xml.etree import ElementTree

import frappe
from frappe.utils import flt, getdate, now_datetime

from simple_crm.automation.common import claim
from simple_crm.integrations.commerceml.reader import DEAL_REQUISITE, ORDER_OPERATION, ROOT

JOB = "commerceml_delivered"
SCHEMA_VERSION = "2.08"


def mark_key(doctype: str, name: str) -> str:
	return f"commerceml:{doctype}:{name}"


def undelivered(doctype: str, fields: str, limit: int, extra: str = "") -> list[dict]:
	return frappe.db.sql(
		f"""select {fields} from `tab{doctype}` t
		where ifnull(t.external_id, '') = '' {extra}
			and not exists (select 1 from `tabCRM Automation Mark` m
				where m.name = concat('commerceml:', %(doctype)s, ':', t.name))
		order by t.creation, t.name
		limit %(limit)s""",
		{"doctype": doctype, "limit": limit},
		as_dict=True,
	)


def add(parent, tag: str, text=None):
	element = ElementTree.SubElement(parent, tag)
	if text is not None and text != "":
		element.text = str(text)
	return element


def contacts(parent, phone: str | None, email: str | None) -> None:
	if not (phone or email):
		return
	box = add(parent, "Контакты")
	for kind, text in (("Телефон рабочий", phone), ("Почта", email)):
		if text:
			contact = add(box, "Контакт")
			add(contact, "Тип", kind)
			add(contact, "Значение", text)


def counterparty_element(parent, row: dict) -> None:
	element = add(parent, "Контрагент")
	add(element, "Ид", row.name)
	add(element, "Наименование", row.short_name or row.full_name)
	add(element, "ПолноеНаименование", row.full_name)
	add(element, "ОфициальноеНаименование", row.full_name)
	add(element, "Роль", "Покупатель")
	if row.inn:
		add(element, "ИНН", row.inn)
	if row.kpp:
		add(element, "КПП", row.kpp)
	if row.legal_address:
		add(add(element, "ЮридическийАдрес"), "Представление", row.legal_address)
	if row.postal_address:
		add(add(element, "Адрес"), "Представление", row.postal_address)
	contacts(element, row.phone, row.email)


def client_element(parent, row: dict) -> None:
	element = add(parent, "Контрагент")
	add(element, "Ид", row.name)
	add(element, "Наименование", row.client_name)
	add(element, "ПолноеНаименование", row.client_name)
	add(element, "Роль", "Покупатель")
	contacts(element, row.phone, row.email)


def order_element(parent, row: dict, parties: dict) -> None:
	element = add(parent, "Документ")
	add(element, "Ид", row.name)
	add(element, "Номер", row.order_number or row.name)
	add(element, "Дата", getdate(row.order_date or row.creation).isoformat())
	add(element, "ХозОперация", ORDER_OPERATION)
	add(element, "Роль", "Продавец")
	add(element, "Валюта", row.currency or "RUB")
	add(element, "Курс", 1)
	add(element, "Сумма", f"{flt(row.amount):.2f}")
	party = parties.get(row.counterparty) or parties.get(row.client)
	if party:
		box = add(element, "Контрагенты")
		if party.get("full_name") is not None:
			counterparty_element(box, party)
			# a counterparty known to accounting goes by accounting's ID
			if party.external_id:
				box[-1].find("Ид").text = party.external_id
		else:
			client_element(box, party)
	values = add(element, "ЗначенияРеквизитов")
	for name, text in ((DEAL_REQUISITE, row.deal), ("Статус заказа", row.status)):
		if text:
			entry = add(values, "ЗначениеРеквизита")
			add(entry, "Наименование", name)
			add(entry, "Значение", text)


COUNTERPARTY_FIELDS = "t.name, t.full_name, t.short_name, t.inn, t.kpp, t.legal_address, t.postal_address, t.phone, t.email, t.external_id"
CLIENT_FIELDS = "t.name, t.client_name, t.phone, t.email"


def build(limit: int) -> tuple[str, list[list[str]]]:
	"""(the XML, [[doctype, name], ...] of what it lists)."""
	counterparties = undelivered("CRM Counterparty", COUNTERPARTY_FIELDS, limit)
	clients = undelivered(
		"CRM Client",
		CLIENT_FIELDS,
		limit,
		"and not exists (select 1 from `tabCRM Counterparty` c where c.client = t.name)",
	)
	orders = undelivered(
		"CRM Order",
		"t.name, t.order_number, t.order_date, t.creation, t.currency, t.amount, t.status, t.deal, t.client, t.counterparty",
		limit,
	)
	root = ElementTree.Element(
		ROOT,
		{"ВерсияСхемы": SCHEMA_VERSION, "ДатаФормирования": now_datetime().strftime("%Y-%m-%dT%H:%M:%S")},
	)
	parties = order_parties(orders)
	for row in orders:
		order_element(root, row, parties)
	if counterparties or clients:
		box = add(root, "Контрагенты")
		for row in counterparties:
			counterparty_element(box, row)
		for row in clients:
			client_element(box, row)
	offered = [["CRM Order", r.name] for r in orders]
	offered += [["CRM Counterparty", r.name] for r in counterparties]
	offered += [["CRM Client", r.name] for r in clients]
	ElementTree.indent(root)
	xml = '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode")
	return xml, offered


def order_parties(orders: list[dict]) -> dict:
	"""The counterparties (by name) and clients (by name) the orders name."""
	out = {}
	names = sorted({r.counterparty for r in orders if r.counterparty})
	if names:
		for row in frappe.db.sql(
			f"select {COUNTERPARTY_FIELDS} from `tabCRM Counterparty` t where t.name in %(names)s",
			{"names": names},
			as_dict=True,
		):
			out[row.name] = row
	names = sorted({r.client for r in orders if r.client and not r.counterparty})
	if names:
		for row in frappe.db.sql(
			f"select {CLIENT_FIELDS} from `tabCRM Client` t where t.name in %(names)s",
			{"names": names},
			as_dict=True,
		):
			out[row.name] = row
	return out


def mark_delivered(offered: list) -> int:
	"""Record the listed records as delivered; returns how many were not marked before."""
	count = 0
	for doctype, name in offered:
		if claim(mark_key(doctype, name), JOB, doctype, name):
			count += 1
	return count
