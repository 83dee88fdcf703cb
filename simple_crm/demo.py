"""A realistic, Russian-flavoured demo dataset, deterministic for a given seed.

`load(seed)` creates managers, clients (organisations with contact persons and counterparties
carrying valid requisites, and individuals), leads from every channel (some converted), deals across
the stages of the default pipeline, tasks and calls. It goes through the documents' own controllers,
so everything it creates obeys the same rules as data a user enters. Running it again on a site that
has the data does nothing.
"""

import random
from datetime import datetime, timedelta

import frappe
from frappe.utils import add_days, get_datetime, now_datetime

from simple_crm.constants import LEAD_CONVERTED
from simple_crm.utils import identifiers

DEFAULT_KEY = "simple_crm_demo_seed"

MANAGERS = (
	("m.orlova@demo.simple-crm.localhost", "Марина", "Орлова"),
	("a.kuznetsov@demo.simple-crm.localhost", "Алексей", "Кузнецов"),
	("d.smirnov@demo.simple-crm.localhost", "Дмитрий", "Смирнов"),
	("e.volkova@demo.simple-crm.localhost", "Екатерина", "Волкова"),
)
HEAD_OF_SALES = ("s.morozov@demo.simple-crm.localhost", "Сергей", "Морозов")
# Frappe makes the first system user created after the setup wizard a System Manager (there must be
# one besides Administrator): the company's administrator is created first and takes that role
ADMINISTRATOR = ("i.adminov@demo.simple-crm.localhost", "Илья", "Админов")

MALE_FIRST = (
	"Александр",
	"Андрей",
	"Борис",
	"Василий",
	"Виктор",
	"Геннадий",
	"Денис",
	"Евгений",
	"Игорь",
	"Константин",
	"Максим",
	"Михаил",
	"Николай",
	"Олег",
	"Павел",
	"Роман",
	"Станислав",
	"Юрий",
)
FEMALE_FIRST = (
	"Алина",
	"Анастасия",
	"Валентина",
	"Галина",
	"Дарья",
	"Елена",
	"Ирина",
	"Ксения",
	"Людмила",
	"Наталья",
	"Ольга",
	"Светлана",
	"Татьяна",
	"Юлия",
)
LAST_NAMES = (
	"Иванов",
	"Петров",
	"Сидоров",
	"Соколов",
	"Попов",
	"Лебедев",
	"Козлов",
	"Новиков",
	"Морозов",
	"Павлов",
	"Семёнов",
	"Голубев",
	"Виноградов",
	"Богданов",
	"Воробьёв",
	"Фёдоров",
	"Михайлов",
	"Беляев",
	"Тарасов",
	"Белов",
	"Комаров",
	"Орлов",
	"Киселёв",
	"Макаров",
	"Андреев",
	"Ковалёв",
	"Ильин",
	"Гусев",
)
COMPANY_WORDS = (
	"Альфа",
	"Вектор",
	"Гранит",
	"Дельта",
	"Енисей",
	"Заря",
	"Импульс",
	"Кварц",
	"Лидер",
	"Меридиан",
	"Нева",
	"Орион",
	"Прогресс",
	"Регион",
	"Сибирь",
	"Техно",
	"Урал",
	"Феникс",
	"Форвард",
	"Эталон",
	"Янтарь",
	"Стройка",
	"Ресурс",
	"Профи",
	"Снаб",
	"Торг",
	"Комплект",
	"Сервис",
	"Логистик",
	"Пром",
)
CITIES = (
	("Москва", "495"),
	("Санкт-Петербург", "812"),
	("Екатеринбург", "343"),
	("Новосибирск", "383"),
	("Казань", "843"),
	("Нижний Новгород", "831"),
	("Самара", "846"),
	("Краснодар", "861"),
)
STREETS = (
	"ул. Ленина",
	"ул. Мира",
	"пр-т Победы",
	"ул. Садовая",
	"ул. Гагарина",
	"ул. Заводская",
	"ул. Промышленная",
	"ш. Энтузиастов",
)
BANKS = (
	"ПАО Сбербанк",
	"Банк ВТБ (ПАО)",
	"АО «Альфа-Банк»",
	"АО «Райффайзенбанк»",
	"ПАО «Промсвязьбанк»",
	"АО «Тинькофф Банк»",
)
PRODUCTS = (
	("PR-001", "Кабель ВВГнг 3x2.5", "Product", "м", 95),
	("PR-002", "Автоматический выключатель 16А", "Product", "шт", 420),
	("PR-003", "Щит распределительный ЩРН-24", "Product", "шт", 3900),
	("PR-004", "Светильник светодиодный 36 Вт", "Product", "шт", 1450),
	("PR-005", "Труба гофрированная ПНД 20 мм", "Product", "м", 18),
	("PR-006", "Счётчик электроэнергии трёхфазный", "Product", "шт", 6800),
	("PR-007", "Кабельный лоток 100x50", "Product", "м", 560),
	("PR-008", "Розетка силовая 32А", "Product", "шт", 890),
	("SV-001", "Монтаж электропроводки", "Service", "ч", 1800),
	("SV-002", "Проектирование электроснабжения", "Service", "проект", 45000),
	("SV-003", "Пусконаладочные работы", "Service", "ч", 2500),
	("SV-004", "Доставка по городу", "Service", "рейс", 3500),
)
INTERESTS = (
	"Кабельная продукция для объекта",
	"Освещение склада",
	"Щитовое оборудование",
	"Монтаж под ключ",
	"Прайс-лист для оптовых покупателей",
	"Проект электроснабжения офиса",
	"Замена счётчиков",
	"Комплектация стройки",
)
CALL_TOPICS = (
	"Уточнение заказа",
	"Коммерческое предложение",
	"Сроки поставки",
	"Оплата счёта",
	"Новая заявка",
	"Рекламация",
	"Консультация",
)
TASK_SUBJECTS = {
	"Call": ("Перезвонить клиенту", "Уточнить потребность", "Напомнить об оплате", "Согласовать сроки"),
	"Meeting": ("Встреча на объекте", "Презентация продукции", "Переговоры по договору"),
	"Email": ("Отправить КП", "Выслать договор", "Отправить прайс-лист"),
	"Other": ("Подготовить спецификацию", "Проверить остатки на складе"),
}


WEEK = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class DemoBuilder:
	def __init__(self, seed: int):
		self.rng = random.Random(seed)
		self.now = now_datetime().replace(microsecond=0)
		self.used_phones: set[str] = set()
		self.counts: dict[str, int] = {}

	# --- small generators -------------------------------------------------
	def person(self) -> tuple[str, str, str]:
		if self.rng.random() < 0.5:
			return self.rng.choice(MALE_FIRST), self.rng.choice(LAST_NAMES), "Male"
		return self.rng.choice(FEMALE_FIRST), self.rng.choice(LAST_NAMES) + "а", "Female"

	def mobile(self) -> str:
		while True:
			digits = f"{self.rng.choice(('912', '916', '926', '903', '985', '999'))}{self.rng.randint(0, 9_999_999):07d}"
			if digits not in self.used_phones:
				self.used_phones.add(digits)
				break
		style = self.rng.randrange(4)
		if style == 0:
			return f"8 ({digits[:3]}) {digits[3:6]}-{digits[6:8]}-{digits[8:]}"
		if style == 1:
			return f"+7 {digits[:3]} {digits[3:6]} {digits[6:8]} {digits[8:]}"
		if style == 2:
			return f"8-{digits[:3]}-{digits[3:6]}-{digits[6:8]}-{digits[8:]}"
		return digits

	def city_phone(self, code: str) -> str:
		while True:
			local = f"{self.rng.randint(200, 999)}{self.rng.randint(0, 9999):04d}"
			if code + local not in self.used_phones:
				self.used_phones.add(code + local)
				return f"({code}) {local[:3]}-{local[3:5]}-{local[5:]}"

	def email(self, first: str, last: str, domain: str) -> str:
		translit = str.maketrans(
			"абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
			"abvgdeejzijklmnoprstufhccss_y_eua",
		)
		local = f"{first[0]}.{last}".lower().translate(translit).replace("_", "")
		return f"{local}{self.rng.randint(1, 999)}@{domain}"

	def company(self) -> str:
		return f"{self.rng.choice(COMPANY_WORDS)}-{self.rng.choice(COMPANY_WORDS)}"

	def moment(self, days_back: int) -> datetime:
		return self.now - timedelta(days=self.rng.randint(0, days_back), minutes=self.rng.randint(0, 600))

	def insert(self, doc: dict):
		d = frappe.get_doc(doc)
		d.flags.ignore_duplicates = doc.get("doctype") != "CRM Lead"
		d.insert(ignore_permissions=True)
		self.counts[d.doctype] = self.counts.get(d.doctype, 0) + 1
		return d

	# --- dataset ----------------------------------------------------------
	def users(self):
		"""The demo's people with exactly their roles (safe to run again: it also repairs the roles)."""
		self.managers = []
		for email, first, last in (ADMINISTRATOR, *MANAGERS, HEAD_OF_SALES):
			if not frappe.db.exists("User", email):
				frappe.get_doc(
					{
						"doctype": "User",
						"email": email,
						"first_name": first,
						"last_name": last,
						"language": "ru",
						"send_welcome_email": 0,
						"user_type": "System User",
						"new_password": frappe.generate_hash(length=16),
					}
				).insert(ignore_permissions=True)
			user = frappe.get_doc("User", email)
			if email == ADMINISTRATOR[0]:
				user.add_roles("System Manager", "CRM Administrator")
				continue
			is_head = (email, first, last) == HEAD_OF_SALES
			user.add_roles("CRM Head of Sales" if is_head else "CRM Sales Manager")
			if "System Manager" in frappe.get_roles(email):
				user.remove_roles("System Manager")
			if not is_head:
				self.managers.append(email)
		if not frappe.db.exists("CRM Sales Team", "Отдел продаж"):
			frappe.get_doc(
				{
					"doctype": "CRM Sales Team",
					"team_name": "Отдел продаж",
					"head": HEAD_OF_SALES[0],
					"members": [{"user": user} for user in self.managers],
				}
			).insert(ignore_permissions=True)

	def lead_distribution(self):
		"""New leads nobody took (web forms, imports) go round the sales managers (Frappe Assignment Rule)."""
		name = "Распределение новых лидов"
		if frappe.db.exists("Assignment Rule", name):
			return
		frappe.get_doc(
			{
				"doctype": "Assignment Rule",
				"name": name,
				"document_type": "CRM Lead",
				"description": "Новые лиды без ответственного по очереди получают менеджеры отдела продаж.",
				"priority": 1,
				"assign_condition": "status == 'New' and not responsible",
				"rule": "Round Robin",
				"users": [{"user": user} for user in self.managers],
				"assignment_days": [{"day": day} for day in WEEK],
			}
		).insert(ignore_permissions=True)

	def products(self):
		for code, name, item_type, uom, rate in PRODUCTS:
			if not frappe.db.exists("CRM Product", code):
				self.insert(
					{
						"doctype": "CRM Product",
						"product_code": code,
						"product_name": name,
						"item_type": item_type,
						"uom": uom,
						"standard_rate": rate,
						"currency": "RUB",
					}
				)

	def organisation(self):
		rng = self.rng
		word = self.company()
		city, code = rng.choice(CITIES)
		manager = rng.choice(self.managers)
		domain = f"{word.lower().replace('-', '')}.ru".translate(
			str.maketrans("абвгдеёжзийклмнопрстуфхцчшщъыьэюя", "abvgdeejzijklmnoprstufhccss_y_eua")
		).replace("_", "")
		client = self.insert(
			{
				"doctype": "CRM Client",
				"client_name": f"{word} ({city})",
				"client_type": "Organisation",
				"responsible": manager,
				"segment": rng.choice(("Retail", "Wholesale", "Key Account", "Partner")),
				"phone": self.city_phone(code),
				"email": f"info@{domain}",
				"website": f"https://{domain}",
				"currency": "RUB",
			}
		)
		# one to three legal entities through which the client buys
		for i in range(rng.choice((1, 1, 1, 2, 3))):
			sole = i > 0 and rng.random() < 0.3
			self.counterparty(client, word if i == 0 else self.company(), city, sole, is_itself=(i == 0))
		contacts = []
		for role in rng.sample(
			("Director", "Accountant", "Buyer", "Storekeeper", "Engineer"), rng.randint(1, 3)
		):
			first, last, _gender = self.person()
			contacts.append(
				self.insert(
					{
						"doctype": "Contact",
						"first_name": first,
						"last_name": last,
						"company_name": client.client_name,
						"designation": {
							"Director": "Генеральный директор",
							"Accountant": "Главный бухгалтер",
							"Buyer": "Менеджер по закупкам",
							"Storekeeper": "Заведующий складом",
							"Engineer": "Главный инженер",
						}[role],
						"crm_role": role,
						"crm_preferred_channel": rng.choice(("Phone", "E-mail", "Messenger")),
						"crm_birthday": add_days(self.now.date(), -rng.randint(25 * 365, 60 * 365)),
						"crm_responsible": manager,
						"phone_nos": [
							{"phone": self.mobile(), "is_primary_mobile_no": 1, "is_primary_phone": 1}
						],
						"email_ids": [{"email_id": self.email(first, last, domain), "is_primary": 1}],
						"links": [{"link_doctype": "CRM Client", "link_name": client.name}],
					}
				)
			)
		return client, contacts

	def counterparty(self, client, word: str, city: str, sole: bool, is_itself: bool):
		rng = self.rng
		bik = identifiers.make_bik(rng)
		street = f"{rng.choice(STREETS)}, д. {rng.randint(1, 120)}"
		address = f"{rng.randint(101000, 699999)}, г. {city}, {street}"
		if sole:
			first, last, _gender = self.person()
			full = f"Индивидуальный предприниматель {last} {first}"
			inn, ogrn, kpp = identifiers.make_inn(rng, "individual"), identifiers.make_ogrnip(rng), None
			short, form, director = f"ИП {last} {first[0]}.", "ИП", f"{last} {first}"
		else:
			full = f"Общество с ограниченной ответственностью «{word}»"
			inn = identifiers.make_inn(rng, "organisation")
			ogrn, kpp = identifiers.make_ogrn(rng), identifiers.make_kpp(rng, inn)
			first, last, _gender = self.person()
			short, form, director = f"ООО «{word}»", "ООО", f"{last} {first}"
		return self.insert(
			{
				"doctype": "CRM Counterparty",
				"full_name": full,
				"short_name": short,
				"legal_form": form,
				"counterparty_type": "Sole Proprietor" if sole else "Legal Entity",
				"client": client.name,
				"is_client_itself": 1 if is_itself else 0,
				"inn": inn,
				"kpp": kpp,
				"ogrn": ogrn,
				"director": director,
				"director_position": "Индивидуальный предприниматель" if sole else "Генеральный директор",
				"signatory_basis": "Свидетельства о регистрации" if sole else "Устава",
				"legal_address": address,
				"postal_address": address,
				"vat_status": "Without VAT" if sole else "With VAT",
				"currency": "RUB",
				"bank_accounts": [
					{
						"bank_name": rng.choice(BANKS),
						"bik": bik,
						"settlement_account": identifiers.make_settlement_account(rng, bik),
						"corr_account": identifiers.make_corr_account(bik),
						"is_default": 1,
					}
				],
			}
		)

	def individual(self):
		first, last, _gender = self.person()
		return self.insert(
			{
				"doctype": "CRM Client",
				"client_name": f"{last} {first}",
				"client_type": "Individual",
				"responsible": self.rng.choice(self.managers),
				"segment": "Retail",
				"phone": self.mobile(),
				"email": self.email(first, last, self.rng.choice(("mail.ru", "yandex.ru", "gmail.com"))),
				"birthday": add_days(self.now.date(), -self.rng.randint(22 * 365, 65 * 365)),
				"currency": "RUB",
			}
		)

	def leads(self, count: int):
		rng = self.rng
		sources = frappe.get_all("CRM Lead Source", fields=["name", "channel"], filters={"disabled": 0})
		reasons = frappe.get_all(
			"CRM Lost Reason", filters={"applies_to": ("in", ("Lead", "Lead and Deal"))}, pluck="name"
		)
		leads = []
		for _ in range(count):
			first, last, _gender = self.person()
			source = rng.choice(sources)
			status = rng.choices(
				("New", "In Progress", "Qualified", "Disqualified"), weights=(30, 35, 20, 15)
			)[0]
			received = self.moment(180)
			has_company = rng.random() < 0.7
			doc = {
				"doctype": "CRM Lead",
				"lead_name": f"{first} {last}",
				"company_name": f"ООО «{self.company()}»" if has_company else None,
				"phone": self.mobile(),
				"email": self.email(first, last, rng.choice(("mail.ru", "yandex.ru", "gmail.com", "bk.ru")))
				if rng.random() < 0.7
				else None,
				"source": source.name,
				"interest": rng.choice(INTERESTS),
				"responsible": rng.choice(self.managers),
				"status": status,
				"received_on": received,
			}
			if status != "New":
				doc["first_response_on"] = received + timedelta(minutes=rng.randint(3, 240))
			if source.channel == "Website":
				doc.update(
					utm_source=rng.choice(("yandex", "google", "vk")),
					utm_medium=rng.choice(("cpc", "organic", "social")),
					utm_campaign=rng.choice(("spring_sale", "cable_promo", "brand")),
				)
			if status == "Disqualified":
				doc["lost_reason"] = rng.choice(reasons)
			# a lead is received as New; the workflow takes it further
			doc["status"] = "New"
			lead = self.insert(doc)
			if status != "New":
				lead.status = status
				lead.save(ignore_permissions=True)
			leads.append(lead)
		return leads

	def convert(self, leads) -> None:
		"""Some qualified leads became clients (with a contact and a first deal) through the conversion."""
		from simple_crm.conversion import convert_lead

		for lead in leads:
			result = convert_lead(
				lead.name,
				client_type="Organisation" if lead.company_name else "Individual",
				create_deal=True,
			)
			self.counts["Converted Lead"] = self.counts.get("Converted Lead", 0) + 1
			lead.status = LEAD_CONVERTED
			lead.client = result.client

	def deals(self, clients_with_contacts, count: int):
		rng = self.rng
		pipeline = frappe.db.get_single_value("Simple CRM Settings", "default_pipeline")
		stages = frappe.get_all(
			"CRM Pipeline Stage",
			filters={"parent": pipeline, "parenttype": "CRM Pipeline"},
			fields=["stage_name", "stage_type"],
			order_by="idx",
		)
		weights = [30 if s.stage_type == "Open" else 20 for s in stages]
		reasons = frappe.get_all(
			"CRM Lost Reason", filters={"applies_to": ("in", ("Deal", "Lead and Deal"))}, pluck="name"
		)
		deals = []
		for _ in range(count):
			client, contacts = rng.choice(clients_with_contacts)
			stage = rng.choices(stages, weights=weights)[0]
			lines = []
			for code, name, _type, uom, rate in rng.sample(PRODUCTS, rng.randint(1, 4)):
				lines.append(
					{
						"product": code,
						"item_name": name,
						"uom": uom,
						"qty": rng.randint(1, 50) * (10 if uom == "м" else 1),
						"rate": rate,
					}
				)
			co_managers = [m for m in self.managers if m != client.responsible]
			doc = {
				"doctype": "CRM Deal",
				"client": client.name,
				"pipeline": pipeline,
				"responsible": client.responsible,
				"currency": "RUB",
				"expected_close_date": add_days(self.now.date(), rng.randint(-30, 90)),
				"items": lines,
				"contacts": [{"contact": c.name, "is_primary": i == 0} for i, c in enumerate(contacts[:2])],
				"co_managers": [{"user": rng.choice(co_managers)}] if rng.random() < 0.25 else [],
			}
			if rng.random() < 0.3:
				doc["competitors"] = [
					{
						"competitor_name": rng.choice(("ЭлектроКомплект", "ЭТМ", "Минимакс", "Русский Свет")),
						"offer": "Аналогичная продукция",
						"price": rng.randint(50, 500) * 100,
					}
				]
			deal = self.insert(doc)
			if stage.stage_name != deal.stage:
				deal.reload()
				deal.stage = stage.stage_name
				if stage.stage_type == "Lost":
					deal.lost_reason = rng.choice(reasons)
				deal.save(ignore_permissions=True)
			deals.append(deal)
		return deals

	def tasks(self, records, count: int):
		rng = self.rng
		for _ in range(count):
			doctype, name, manager = rng.choice(records)
			task_type = rng.choices(("Call", "Meeting", "Email", "Other"), weights=(50, 20, 20, 10))[0]
			due = self.now + timedelta(days=rng.randint(-20, 20), hours=rng.randint(0, 8))
			status = (
				"Done"
				if due < self.now and rng.random() < 0.7
				else rng.choice(("Open", "Open", "In Progress"))
			)
			doc = {
				"doctype": "CRM Task",
				"subject": rng.choice(TASK_SUBJECTS[task_type]),
				"task_type": task_type,
				"priority": rng.choice(("Low", "Medium", "Medium", "High", "Urgent")),
				"assigned_to": manager,
				"due_on": due,
				"remind_at": due - timedelta(minutes=30),
				"reference_doctype": doctype,
				"reference_name": name,
				"status": status,
			}
			if status == "Done":
				doc["result"] = rng.choice(
					(
						"Договорились о встрече",
						"Клиент получил КП",
						"Перезвонить через неделю",
						"Согласовали условия",
					)
				)
			if task_type == "Meeting":
				doc["checklist"] = [
					{"step": "Подготовить презентацию"},
					{"step": "Распечатать КП"},
					{"step": "Согласовать время"},
				]
			self.insert(doc)

	def calls(self, contacts_by_client, count: int):
		rng = self.rng
		for i in range(count):
			client, contacts = rng.choice(contacts_by_client)
			contact = rng.choice(contacts) if contacts else None
			phone = contact.phone_nos[0].phone if contact else client.phone
			answered = rng.random() < 0.8
			self.insert(
				{
					"doctype": "CRM Call",
					"phone": phone,
					"direction": rng.choice(("Inbound", "Outbound")),
					"call_status": "Answered" if answered else "Missed",
					"started_at": self.moment(90),
					"duration": rng.randint(20, 900) if answered else 0,
					"manager": client.responsible,
					"client": client.name,
					"contact": contact.name if contact else None,
					"call_id": f"demo-{i:05d}",
					"topic": rng.choice(CALL_TOPICS) if answered else None,
				}
			)


def complete_setup_wizard() -> None:
	"""A demo site opens straight into the Desk: answer Frappe's setup wizard for a Russian company."""
	if frappe.db.get_single_value("System Settings", "setup_complete"):
		return
	frappe.db.set_default("currency", "RUB")
	from frappe.desk.page.setup_wizard.setup_wizard import setup_complete

	setup_complete(
		{
			"language": "English",
			"country": "Russian Federation",
			"timezone": "Europe/Moscow",
			"currency": "RUB",
		}
	)


def load(seed: int = 42, leads: int = 300, organisations: int = 60, individuals: int = 20) -> dict:
	"""Fill the site with demo data once; returns counts of what was created (empty when it was there)."""
	complete_setup_wizard()
	builder = DemoBuilder(seed)
	builder.users()
	if frappe.db.get_default(DEFAULT_KEY):
		return {}
	builder.products()
	clients = [builder.organisation() for _ in range(organisations)]
	clients += [(builder.individual(), []) for _ in range(individuals)]
	lead_docs = builder.leads(leads)
	builder.convert([lead for lead in lead_docs if lead.status == "Qualified"][: max(leads // 10, 1)])
	deals = builder.deals([c for c in clients if c[1]], count=150)
	records = [("CRM Client", c.name, c.responsible) for c, _ in clients]
	records += [
		("CRM Lead", lead.name, lead.responsible)
		for lead in lead_docs
		if lead.status in ("New", "In Progress")
	]
	records += [("CRM Deal", d.name, d.responsible) for d in deals]
	builder.tasks(records, count=250)
	builder.calls(clients, count=400)
	builder.lead_distribution()
	frappe.db.set_default(DEFAULT_KEY, str(seed))
	return builder.counts
