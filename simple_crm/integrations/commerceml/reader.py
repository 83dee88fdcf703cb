"""Reading what 1C uploads: CommerceML 2 files (XML in windows-1251 or UTF-8, alone or in a zip) turned into
the accounting exchange's items (`simple_crm.integrations.exchange`).

- Encoding: the one the XML declaration names (windows-1251 or UTF-8; none means UTF-8, a UTF-8 byte order
  mark means UTF-8). Bytes that are not valid in it, or a file declared windows-1251 that is in fact UTF-8
  (its Cyrillic would read as garbage), are refused with the reason.
- Safety: a document type declaration (and with it every entity, external or not) is refused before parsing;
  a zip is read in memory (nothing is extracted to disk), its names may not climb out of the archive, and its
  entries may not unpack to more than `UNPACKED_LIMIT` bytes in all (each entry is read with that cap, whatever
  its header claims).
- Mapping: a Контрагент becomes a counterparty item, a Документ with ХозОперация "Заказ товара" an order item
  (its paid amount from the requisites 1C writes, its deal from the requisite "Сделка CRM"). Other documents and
  the catalogue's sections are not the CRM's and are skipped.
"""

import codecs
import io
import re
import zipfile
from xml.etree import ElementTree

import frappe
from frappe import _

# the requisite of a 1C order that names the CRM's deal (its name in the CRM, e.g. DEAL-00042)
DEAL_REQUISITE = "Сделка CRM"
ORDER_OPERATION = "Заказ товара"
SELLER_ROLE = "Продавец"
# what a zip may unpack to in all, and how many entries it may have
UNPACKED_LIMIT = 50 * 1024 * 1024
ENTRY_LIMIT = 100
ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "windows-1251": "cp1251", "cp1251": "cp1251"}
DECLARATION = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
CURRENCIES = {"руб": "RUB", "руб.": "RUB", "643": "RUB", "rub": "RUB", "рубль": "RUB"}
TRUE = ("true", "истина", "да", "1")
ROOT = "КоммерческаяИнформация"


class CommerceMLError(frappe.ValidationError):
	"""A file 1C sent cannot be taken: the reason goes back to 1C and nothing is written."""


def fail(message: str):
	raise CommerceMLError(message)


# --- bytes to elements -------------------------------------------------------------------------------------


def documents(name: str, data: bytes) -> list[tuple[str, ElementTree.Element]]:
	"""The XML documents of an upload (a zip's XML entries in name order), as (name, root element)."""
	if data[:4] == b"PK\x03\x04":
		return [(entry, parse(entry, body)) for entry, body in unpacked(name, data)]
	return [(name, parse(name, data))]


def unpacked(name: str, data: bytes) -> list[tuple[str, bytes]]:
	try:
		archive = zipfile.ZipFile(io.BytesIO(data))
		infos = archive.infolist()
	except (zipfile.BadZipFile, ValueError):
		fail(_("{0} is not a readable zip archive").format(name))
	if len(infos) > ENTRY_LIMIT:
		fail(_("{0} has {1} files, at most {2} allowed").format(name, len(infos), ENTRY_LIMIT))
	out, total = [], 0
	for info in infos:
		entry = info.filename
		if entry.startswith(("/", "\\")) or ".." in re.split(r"[/\\]", entry) or ":" in entry:
			fail(_("{0} holds a file named {1}, outside the archive").format(name, entry))
		if info.is_dir() or not entry.lower().endswith(".xml"):
			continue
		try:
			with archive.open(info) as handle:
				body = handle.read(UNPACKED_LIMIT - total + 1)
		except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError) as e:
			fail(_("{0}: {1} cannot be unpacked ({2})").format(name, entry, str(e)))
		total += len(body)
		if total > UNPACKED_LIMIT:
			fail(_("{0} unpacks to more than {1} bytes").format(name, UNPACKED_LIMIT))
		out.append((entry, body))
	if not out:
		fail(_("{0} holds no XML file").format(name))
	return sorted(out)


def text_of(name: str, data: bytes) -> str:
	"""The file's text in the encoding its declaration names."""
	if data.startswith(codecs.BOM_UTF8):
		encoding, data = "utf-8", data[len(codecs.BOM_UTF8) :]
		declared = DECLARATION.match(data)
		if declared and ENCODINGS.get(declared.group(1).decode().lower()) != "utf-8":
			fail(
				_("{0} starts as UTF-8 but declares the encoding {1}").format(
					name, declared.group(1).decode()
				)
			)
	else:
		declared = DECLARATION.match(data)
		label = declared.group(1).decode().lower() if declared else "utf-8"
		encoding = ENCODINGS.get(label)
		if not encoding:
			fail(_("{0} is in the encoding {1}: send windows-1251 or UTF-8").format(name, label))
	if encoding == "cp1251" and not data.isascii():
		try:
			data.decode("utf-8")
		except UnicodeDecodeError:
			pass
		else:
			fail(_("{0} declares windows-1251 but is written in UTF-8").format(name))
	try:
		return data.decode(encoding)
	except UnicodeDecodeError as e:
		fail(
			_("{0} is not valid {1}: byte {2} cannot be read").format(
				name, "UTF-8" if encoding == "utf-8" else "windows-1251", e.start
			)
		)


def parse(name: str, data: bytes) -> ElementTree.Element:
	text = text_of(name, data)
	if re.search(r"<!(DOCTYPE|ENTITY)", text, re.IGNORECASE):
		fail(_("{0} has a document type declaration: CommerceML files have none").format(name))
	# the text is decoded already: its declaration must not make the parser decode it again
	text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text, count=1)
	try:
		root = ElementTree.fromstring(text)
	except ElementTree.ParseError as e:
		line, column = e.position
		fail(_("{0} is not well-formed XML: {1} (line {2}, column {3})").format(name, str(e), line, column))
	if local(root.tag) != ROOT:
		fail(
			_("{0} is not a CommerceML file: its root element is {1}, not {2}").format(
				name, local(root.tag), ROOT
			)
		)
	return root


# --- elements to items -------------------------------------------------------------------------------------


def local(tag) -> str:
	"""A tag without its namespace (1C writes xmlns="urn:1C.ru:commerceml_2" on some versions)."""
	return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def children(element, name: str) -> list:
	return [child for child in element if local(child.tag) == name] if element is not None else []


def child(element, name: str):
	found = children(element, name)
	return found[0] if found else None


def value(element, *path: str) -> str | None:
	for name in path:
		element = child(element, name)
		if element is None:
			return None
	text = "".join(element.itertext()).strip()
	return text or None


def requisites(element) -> dict[str, str]:
	"""ЗначенияРеквизитов as {name: value} (the first of each name)."""
	out = {}
	for entry in children(child(element, "ЗначенияРеквизитов"), "ЗначениеРеквизита"):
		name = value(entry, "Наименование")
		if name and name not in out:
			out[name] = value(entry, "Значение") or ""
	return out


def counterparty_item(element) -> dict | None:
	"""A Контрагент as a counterparty item; None for the seller (the company itself) and for one without Ид."""
	if (value(element, "Роль") or "").strip() == SELLER_ROLE:
		return None
	key = value(element, "Ид")
	if not key:
		return None
	official = child(element, "ОфициальноеНаименование")
	item = {"external_id": key}
	full_name = value(element, "ПолноеНаименование") or (
		"".join(official.itertext()).strip() if official is not None and not len(official) else None
	)
	name = value(element, "Наименование")
	# Наименование is the short name; a counterparty named only by it (inside an order, often) keeps the full
	# name it has, and a new one takes the short name as its full name (`protocol.complete_names`)
	if full_name:
		item["full_name"] = full_name
	if name:
		item["short_name"] = name
	inn, kpp = value(element, "ИНН"), value(element, "КПП")
	if inn:
		item["inn"] = inn
		digits = re.sub(r"\D", "", inn)
		if len(digits) in (10, 12):
			item["counterparty_type"] = "Legal Entity" if len(digits) == 10 else "Sole Proprietor"
	if kpp:
		item["kpp"] = kpp
	legal = value(element, "ЮридическийАдрес", "Представление") or value(
		element, "АдресРегистрации", "Представление"
	)
	postal = value(element, "Адрес", "Представление")
	if legal:
		item["legal_address"] = legal
	if postal:
		item["postal_address"] = postal
	for contact in children(child(element, "Контакты"), "Контакт"):
		kind, text = (value(contact, "Тип") or "").lower(), value(contact, "Значение")
		if not text:
			continue
		if "телефон" in kind and "phone" not in item:
			item["phone"] = text
		elif ("почт" in kind or "mail" in kind) and "email" not in item:
			item["email"] = text
	return item


def merge(items: dict[str, dict], item: dict) -> None:
	"""One item per counterparty: a counterparty named by several documents is sent once, its fields taken
	from where they are first given."""
	known = items.get(item["external_id"])
	if known is None:
		items[item["external_id"]] = item
	else:
		for key, val in item.items():
			known.setdefault(key, val)


def currency(text: str | None) -> str | None:
	if not text:
		return None
	return CURRENCIES.get(text.strip().lower(), text.strip().upper())


def order_item(element) -> tuple[dict, list[dict]]:
	"""A Документ "Заказ товара" as an order item, with the counterparties it names."""
	item = {"external_id": value(element, "Ид")}
	number, day = value(element, "Номер"), value(element, "Дата")
	if number:
		item["order_number"] = number
	if day:
		item["order_date"] = day
	total = value(element, "Сумма")
	if total is not None:
		item["amount"] = total
	code = currency(value(element, "Валюта"))
	if code:
		item["currency"] = code
	parties = [p for p in map(counterparty_item, children(child(element, "Контрагенты"), "Контрагент")) if p]
	if parties:
		item["counterparty_external_id"] = parties[0]["external_id"]
	values = requisites(element)
	if values.get(DEAL_REQUISITE):
		item["deal"] = values[DEAL_REQUISITE].strip()
	status = values.get("Статус заказа") or values.get("Статус заказа ИД")
	if (values.get("Отменен") or "").lower() in TRUE:
		status = "Отменен"
	if status:
		item["status"] = status
	paid = values.get("Сумма оплаты") or values.get("Оплачено")
	if paid and re.fullmatch(r"\s*[\d\s]+([.,]\d+)?\s*", paid):
		item["paid_amount"] = paid
	elif (values.get("Оплачен") or "").lower() in TRUE or values.get("Дата оплаты по 1С"):
		item["paid_amount"] = total or 0
	return item, parties


def items_of(name: str, root) -> tuple[list[dict], list[dict], int]:
	"""(counterparty items, order items, documents skipped) of one file."""
	counterparties: dict[str, dict] = {}
	orders: list[dict] = []
	skipped = 0
	for element in children(child(root, "Контрагенты"), "Контрагент"):
		item = counterparty_item(element)
		if item:
			merge(counterparties, item)
	containers = [root, *children(root, "Документы")]
	for container in containers:
		for document in children(container, "Документ"):
			if (value(document, "ХозОперация") or "").strip() != ORDER_OPERATION:
				skipped += 1
				continue
			order, parties = order_item(document)
			if not order["external_id"]:
				fail(
					_("{0}: an order without Ид (number {1})").format(name, order.get("order_number") or "?")
				)
			for party in parties:
				merge(counterparties, party)
			orders.append(order)
	return list(counterparties.values()), orders, skipped


def read(name: str, data: bytes) -> tuple[list[dict], list[dict], int]:
	"""Every counterparty and order item of an upload, and how many documents were not the CRM's."""
	counterparties: dict[str, dict] = {}
	orders: dict[str, dict] = {}
	skipped = 0
	for entry, root in documents(name, data):
		file_counterparties, file_orders, file_skipped = items_of(entry, root)
		for item in file_counterparties:
			merge(counterparties, item)
		for order in file_orders:
			orders[order["external_id"]] = order  # the last copy of an order in an upload wins
		skipped += file_skipped
	return list(counterparties.values()), list(orders.values()), skipped
