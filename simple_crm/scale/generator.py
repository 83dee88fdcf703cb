"""A large, realistic, deterministic dataset written with multi-row INSERTs, for measuring the app at scale.

`generate(scale, seed)` fills the site with leads, clients, contacts, counterparties, deals (with items,
contacts, co-managers, their stage history and orders), tasks, calls and complaints over the three years before
`until`, worked by 50 sales managers in 5 sales teams (fewer below scale 0.01). Documents do not go through
their controllers: every row is written as the controllers would have written it (normalised phones,
lower-case e-mails, the stage type and probability of the stage, item amounts and totals, the title of a
deal, Contact's primary phone and e-mail, the link titles), together with every row the app derives from
a record:

- the duplicate index (`CRM Contact Point`): the rows `simple_crm.duplicates.sync_contact_points` keeps,
  computed by the same `contact_points` function;
- the Desk's search bar (`__global_search`): the row Frappe's `update_global_search` makes, for the
  doctypes allowed in Global Search Settings;
- the stage history of deals: the `Version` rows Frappe writes for a stage move of a tracked doctype
  (`{"changed": [["stage", old, new], ...]}`), one per move, dated when the move happened, and the
  deal's own `CRM Deal Stage History` rows (one per stay in a stage, simple_crm.stage_history).

Every record is a pure function of (seed, doctype, index): the same seed gives the same data, and a run
that stopped half-way continues from the number of records already in the table (one commit per chunk of
5,000 records together with their derived rows). Generated records carry the generator's name prefix
(`LEAD-SC-0000001`, `CL-SC-0000001`, contacts `<full name>-CL-SC-0000001` as Frappe names a contact of a
client, child and index rows `SC-...`): they never take a number of the app's naming series, so a normal
insert afterwards gets the next number of its series, and `clear(prefix)` removes exactly what the
generator made.
"""

import hashlib
import random
import re
import time
from collections import defaultdict
from datetime import date, datetime, timedelta

import frappe
from frappe import _
from frappe.utils import cstr, flt, formatdate, getdate, now_datetime
from frappe.utils.formatters import format_value
from frappe.utils.global_search import get_doctypes_with_global_search, get_formatted_value

from simple_crm import call_days, pipelines, stage_history
from simple_crm.demo import (
	BANKS,
	CALL_TOPICS,
	CITIES,
	COMPANY_WORDS,
	FEMALE_FIRST,
	INTERESTS,
	LAST_NAMES,
	MALE_FIRST,
	PRODUCTS,
	STREETS,
	TASK_SUBJECTS,
)
from simple_crm.duplicates import CONTACT_POINT, contact_points
from simple_crm.permissions import HEAD_OF_SALES, SALES_MANAGER
from simple_crm.simple_crm.doctype.crm_task.crm_task import list_order as task_list_order
from simple_crm.utils import identifiers

# records at scale 1.0; orders follow the won deals (one or two each)
BASE_COUNTS = {
	"CRM Client": 200_000,
	"CRM Counterparty": 100_000,
	"Contact": 300_000,
	"CRM Lead": 1_000_000,
	"CRM Deal": 500_000,
	"CRM Task": 1_000_000,
	"CRM Call": 2_000_000,
	"CRM Complaint": 50_000,
}
# in this order: each step links only to records of the steps before it
STEPS = tuple(BASE_COUNTS)
NAME_HEADS = {
	"CRM Lead": "LEAD",
	"CRM Client": "CL",
	"CRM Counterparty": "CP",
	"CRM Deal": "DEAL",
	"CRM Task": "TASK",
	"CRM Call": "CALL",
	"CRM Order": "ORD",
	"CRM Complaint": "CMP",
}
CHILD_TABLES = (
	"Contact Phone",
	"Contact Email",
	"Dynamic Link",
	"CRM Deal Item",
	"CRM Deal Contact",
	"CRM Deal Manager",
	"CRM Counterparty Bank Account",
)
DEFAULT_PREFIX = "SC"
YEARS = 3
CHUNK = 5_000
ROWS_PER_STATEMENT = 1_000
# share of clients that came from a converted lead
CONVERTED_CLIENTS = 0.6
MOBILE_CODES = ("903", "905", "912", "915", "916", "925", "926", "977", "985", "999")
FREE_MAIL = ("mail.ru", "yandex.ru", "gmail.com", "bk.ru", "inbox.ru")
TRANSLIT = str.maketrans("абвгдеёжзийклмнопрстуфхцчшщъыьэюя", "abvgdeejzijklmnoprstufhccss_y_eua")
DESIGNATIONS = {
	"Director": "Генеральный директор",
	"Accountant": "Главный бухгалтер",
	"Buyer": "Менеджер по закупкам",
	"Storekeeper": "Заведующий складом",
	"Engineer": "Главный инженер",
}
TASK_RESULTS = ("Договорились о встрече", "Клиент ждёт КП", "Перезвонить через неделю", "Вопрос решён")
CALL_RESULTS = ("Договорились", "Перезвонить", "Отправить КП", "Не заинтересован")
ORDER_STATUSES = ("Отгружен", "Оплачен", "Закрыт")
COMPLAINT_TEXTS = (
	"Клиент сообщает о проблеме и просит связаться с ним.",
	"Позвонил недовольный клиент, просит разобраться и ответить письменно.",
	"Претензия пришла письмом, скан во вложении у бухгалтерии.",
	"Клиент требует замены или возврата денег.",
)
COMPLAINT_RESOLUTIONS = {
	"Resolved": ("Заменили товар", "Вернули деньги", "Дали скидку на следующий заказ", "Исправили документы"),
	"Rejected": ("Претензия не обоснована", "Истёк срок гарантии", "Нарушены условия хранения"),
}


class GeneratorParametersError(frappe.ValidationError):
	pass


def _params_key(prefix: str) -> str:
	return f"simple_crm_scale_{prefix.lower()}"


def generate(
	scale: float = 1.0,
	seed: int = 42,
	resume: bool = True,
	prefix: str = DEFAULT_PREFIX,
	until: date | str | None = None,
	progress: bool = False,
	steps: tuple[str, ...] | None = None,
) -> dict:
	"""Fill the site; returns {doctype: {"records", "rows", "seconds"}} for what this run wrote.

	`resume` continues a run with the same parameters (the default); without it, what the generator made
	under `prefix` is removed first. `steps` limits the run to some doctypes (in their order; for tests).
	"""
	if not re.fullmatch(r"[A-Z]{2,4}", prefix or ""):
		frappe.throw(
			_("The prefix must be 2 to 4 capital Latin letters, not {0}").format(prefix),
			GeneratorParametersError,
		)
	if scale <= 0:
		frappe.throw(_("The scale must be above zero, not {0}").format(scale), GeneratorParametersError)
	params = {"scale": float(scale), "seed": int(seed), "until": str(getdate(until or now_datetime().date()))}
	stored = frappe.db.get_default(_params_key(prefix))
	if not resume:
		clear(prefix)
		stored = None
	if stored:
		stored = frappe.parse_json(stored)
		if until is None:
			params["until"] = stored.get("until")
		if stored != params:
			frappe.throw(
				_(
					"The records with prefix {0} were generated with {1}, not {2}: run with --no-resume to start over"
				).format(prefix, stored, params),
				GeneratorParametersError,
			)
	frappe.db.set_default(_params_key(prefix), frappe.as_json(params, indent=None))
	frappe.db.commit()
	dataset = Dataset(params["scale"], params["seed"], prefix, getdate(params["until"]))
	dataset.setup()
	report = {}
	for doctype in steps or STEPS:
		report[doctype] = dataset.run_step(doctype, progress=progress)
	# each deal's last activity, from its calls, tasks and stage moves, as the app keeps it
	# (simple_crm.automation.deal_follow_up); one set-based statement over the deals still without one
	from simple_crm.patches.v1_0.deal_last_activity import execute as fill_last_activity

	fill_last_activity()
	# the calls per manager and day the app keeps as calls are saved (simple_crm.call_days)
	call_days.rebuild()
	frappe.db.commit()
	analyze_tables(steps or STEPS)
	return report


def analyze_tables(steps: tuple[str, ...]) -> None:
	"""Fresh index statistics for the tables the run filled. InnoDB samples them again only after a tenth of a
	table has changed, in the background: right after millions of bulk inserts MariaDB still plans with the
	figures of a nearly empty table (seen: `select distinct manager` of 2,000,000 calls read 950,000 index
	entries in 0.3 s instead of skipping through 50 managers in 2 ms)."""
	tables = {f"tab{doctype}" for doctype in steps}
	tables.update(
		f"tab{table}" for table in (*CHILD_TABLES, CONTACT_POINT, "Version", "CRM Deal Stage History")
	)
	tables.update(("tabCRM Order", "__global_search"))
	for table in sorted(tables):
		if frappe.db.sql("show tables like %s", table):
			frappe.db.sql(f"analyze table `{table}`")


def clear(prefix: str = DEFAULT_PREFIX) -> None:
	"""Remove every row the generator made under `prefix` (records, child, index, search and version rows,
	its users, teams and products)."""
	like = f"{prefix}-%"
	for doctype, head in NAME_HEADS.items():
		_delete(f"delete from `tab{doctype}` where name like %s", f"{head}-{prefix}-%")
		_delete(
			"delete from `__global_search` where doctype=%s and name like %s", doctype, f"{head}-{prefix}-%"
		)
	contact_like = f"%-CL-{prefix}-%"
	_delete("delete from `__global_search` where doctype='Contact' and name like %s", contact_like)
	_delete("delete from `tabContact` where name like %s", contact_like)
	for table in (*CHILD_TABLES, CONTACT_POINT, "Version", "CRM Deal Stage History"):
		_delete(f"delete from `tab{table}` where name like %s", like)
	for team in frappe.get_all("CRM Sales Team", filters={"name": ("like", f"{prefix} %")}, pluck="name"):
		frappe.delete_doc("CRM Sales Team", team, force=True, ignore_permissions=True)
	_delete_users(
		frappe.get_all("User", filters={"name": ("like", f"{prefix.lower()}.%@{USER_DOMAIN}")}, pluck="name")
	)
	for product in frappe.get_all("CRM Product", filters={"name": ("like", like)}, pluck="name"):
		frappe.delete_doc("CRM Product", product, force=True, ignore_permissions=True)
	frappe.db.set_default(_params_key(prefix), None)
	call_days.rebuild()
	frappe.db.commit()


def _delete(query: str, *values, batch: int = 50_000) -> None:
	while True:
		frappe.db.sql(f"{query} limit {batch}", values)
		deleted = frappe.db._cursor.rowcount
		frappe.db.commit()
		if deleted < batch:
			return


USER_DOMAIN = "scale.simple-crm.localhost"


def _delete_users(users: list[str]) -> None:
	"""Frappe refuses to delete any user of a site whose only System Manager is Administrator (a fresh site
	without the setup wizard): the generator's users go with their own rows, as User.on_trash removes them."""
	if not users:
		return
	contacts = frappe.get_all("Contact", filters={"user": ("in", users)}, pluck="name")
	for table in frappe.get_meta("User").get_table_fields():
		frappe.db.delete(table.options, {"parenttype": "User", "parent": ("in", users)})
	if contacts:
		for table in frappe.get_meta("Contact").get_table_fields():
			frappe.db.delete(table.options, {"parenttype": "Contact", "parent": ("in", contacts)})
		frappe.db.delete("Contact", {"name": ("in", contacts)})
	frappe.db.delete("Notification Settings", {"name": ("in", users)})
	frappe.db.delete("DefaultValue", {"parent": ("in", users)})
	frappe.db.delete("User", {"name": ("in", users)})
	frappe.clear_cache()


def _strip_system_manager(users: list[str]) -> None:
	"""Frappe gives the first system user of a site without another System Manager that role, and puts it
	back on every save of that user: a generated sales manager must not see everything, so the role row is
	removed directly."""
	if users:
		frappe.db.delete(
			"Has Role", {"parenttype": "User", "parent": ("in", users), "role": "System Manager"}
		)
		for user in users:
			frappe.clear_cache(user=user)


class Dataset:
	def __init__(self, scale: float, seed: int, prefix: str, until: date):
		self.scale, self.seed, self.prefix = scale, seed, prefix
		self.counts = {doctype: max(1, round(base * scale)) for doctype, base in BASE_COUNTS.items()}
		self.n_clients = self.counts["CRM Client"]
		self.n_leads = self.counts["CRM Lead"]
		self.n_deals = self.counts["CRM Deal"]
		self.n_contacts = self.counts["Contact"]
		self.n_counterparties = self.counts["CRM Counterparty"]
		self.n_converted = min(int(self.n_clients * CONVERTED_CLIENTS), self.n_leads, self.n_deals)
		self.until = datetime.combine(until, datetime.min.time())
		self.start = self.until - timedelta(days=365 * YEARS)
		self.span = (self.until - self.start).total_seconds()
		self._clients: dict[int, frappe._dict] = {}
		self._contacts: dict[int, frappe._dict] = {}
		self._templates: dict[str, tuple[dict, list[str]]] = {}
		self._formatted: dict = {}
		self._search_fields: dict = {}

	# --- determinism ---------------------------------------------------------------------------------
	def mix(self, kind: str, index: int) -> int:
		digest = hashlib.blake2b(f"{self.seed}|{kind}|{index}".encode(), digest_size=8).digest()
		return int.from_bytes(digest, "big")

	def unit(self, kind: str, index: int) -> float:
		return self.mix(kind, index) / 2**64

	def rng(self, kind: str, index: int) -> random.Random:
		return random.Random(self.mix(kind, index))

	def name(self, doctype: str, index: int) -> str:
		return f"{NAME_HEADS[doctype]}-{self.prefix}-{index + 1:07d}"

	def at(self, fraction: float) -> datetime:
		return self.start + timedelta(seconds=int(self.span * min(max(fraction, 0.0), 1.0)))

	def between(self, start: datetime, fraction: float, end: datetime | None = None) -> datetime:
		end = end or self.until
		if start >= end:
			return start
		return start + timedelta(seconds=int((end - start).total_seconds() * fraction))

	# --- setup: masters, users and teams (through the controllers: a few dozen documents) ------------
	def setup(self) -> None:
		self.currency = frappe.db.get_single_value("Simple CRM Settings", "default_currency") or "RUB"
		self.sources = frappe.get_all(
			"CRM Lead Source", filters={"disabled": 0}, fields=["name", "channel"], order_by="name"
		)
		reasons = frappe.get_all(
			"CRM Lost Reason", filters={"disabled": 0}, fields=["name", "applies_to"], order_by="name"
		)
		self.lead_reasons = [r.name for r in reasons if r.applies_to in ("Lead", "Lead and Deal")]
		self.deal_reasons = [r.name for r in reasons if r.applies_to in ("Deal", "Lead and Deal")]
		self.segments = frappe.get_all("CRM Client Segment", pluck="name", order_by="name") or [None]
		self.complaint_categories = frappe.get_all(
			"CRM Complaint Category", filters={"disabled": 0}, pluck="name", order_by="name"
		)
		self.pipeline = pipelines.default_pipeline()
		stages = pipelines.get_stages(self.pipeline)
		self.stages = {s.stage_name: s for s in stages}
		self.open_stages = [s.stage_name for s in stages if s.stage_type == pipelines.OPEN]
		self.won_stage = next(s.stage_name for s in stages if s.stage_type == pipelines.WON)
		self.lost_stage = next(s.stage_name for s in stages if s.stage_type == pipelines.LOST)
		self.search_doctypes = set(get_doctypes_with_global_search(with_child_tables=False))
		self.make_products()
		self.make_sales_org()
		frappe.db.commit()

	def make_products(self) -> None:
		self.products = []
		for code, product_name, item_type, uom, rate in PRODUCTS:
			name = f"{self.prefix}-{code}"
			if not frappe.db.exists("CRM Product", name):
				frappe.get_doc(
					{
						"doctype": "CRM Product",
						"product_code": name,
						"product_name": product_name,
						"item_type": item_type,
						"uom": uom,
						"standard_rate": rate,
						"currency": self.currency,
					}
				).insert(ignore_permissions=True)
			self.products.append(frappe._dict(name=name, item_name=product_name, uom=uom, rate=rate))

	def make_sales_org(self) -> None:
		teams, per_team = (5, 10) if self.scale >= 0.01 else (2, 3)
		self.managers, self.team_of, self.teams = [], {}, []
		p = self.prefix.lower()
		for t in range(teams):
			head = self.make_user(f"{p}.head{t + 1}@{USER_DOMAIN}", HEAD_OF_SALES, ("head", t))
			members = []
			for m in range(per_team):
				n = t * per_team + m + 1
				user = self.make_user(f"{p}.m{n:02d}@{USER_DOMAIN}", SALES_MANAGER, ("manager", n))
				members.append(user)
				self.team_of[user] = t
			self.managers.extend(members)
			self.teams.append(members)
			team_name = f"{self.prefix} Team {t + 1}"
			if not frappe.db.exists("CRM Sales Team", team_name):
				frappe.get_doc(
					{
						"doctype": "CRM Sales Team",
						"team_name": team_name,
						"head": head,
						"members": [{"user": user} for user in members],
					}
				).insert(ignore_permissions=True)

	def make_user(self, email: str, role: str, key: tuple) -> str:
		if frappe.db.exists("User", email):
			return email
		first, last = self.person(self.rng(f"user-{key[0]}", key[1]))
		frappe.get_doc(
			{
				"doctype": "User",
				"email": email,
				"first_name": first,
				"last_name": last,
				"language": "ru",
				"send_welcome_email": 0,
				"user_type": "System User",
				"roles": [{"role": role}],
			}
		).insert(ignore_permissions=True)
		_strip_system_manager([email])
		return email

	# --- small value generators ------------------------------------------------------------------------
	@staticmethod
	def person(rng: random.Random) -> tuple[str, str]:
		if rng.random() < 0.5:
			return rng.choice(MALE_FIRST), rng.choice(LAST_NAMES)
		return rng.choice(FEMALE_FIRST), rng.choice(LAST_NAMES) + "а"

	@staticmethod
	def mobile(rng: random.Random) -> tuple[str, str]:
		"""A mobile number as a person types it, and its E.164 form (what normalize_phone makes of it)."""
		d = rng.choice(MOBILE_CODES) + f"{rng.randrange(10_000_000):07d}"
		style = rng.randrange(4)
		if style == 0:
			typed = f"8 ({d[:3]}) {d[3:6]}-{d[6:8]}-{d[8:]}"
		elif style == 1:
			typed = f"+7 {d[:3]} {d[3:6]} {d[6:8]} {d[8:]}"
		elif style == 2:
			typed = f"8-{d[:3]}-{d[3:6]}-{d[6:8]}-{d[8:]}"
		else:
			typed = d
		return typed, "+7" + d

	@staticmethod
	def city_phone(rng: random.Random, code: str) -> tuple[str, str]:
		local = f"{rng.randint(200, 999)}{rng.randrange(10_000):04d}"
		return f"({code}) {local[:3]}-{local[3:5]}-{local[5:]}", "+7" + code + local

	@staticmethod
	def email(rng: random.Random, first: str, last: str, domain: str | None = None) -> str:
		local = f"{first[0]}.{last}".lower().translate(TRANSLIT).replace("_", "")
		return f"{local}{rng.randint(1, 999)}@{domain or rng.choice(FREE_MAIL)}"

	@staticmethod
	def domain(word: str) -> str:
		return f"{word.lower().replace('-', '')}.ru".translate(TRANSLIT).replace("_", "")

	# --- the skeleton: cheap pure functions the records of later steps rely on -------------------------
	def lead_time(self, lead: int) -> datetime:
		return self.at((lead + self.unit("lead-t", lead)) / self.n_leads)

	def lead_responsible(self, lead: int) -> str:
		return self.managers[self.mix("lead-resp", lead) % len(self.managers)]

	def lead_of_client(self, client: int) -> int | None:
		if client >= self.n_converted:
			return None
		return client * self.n_leads // self.n_converted

	def client_of_lead(self, lead: int) -> int | None:
		client = -(-lead * self.n_converted // self.n_leads)
		if client < self.n_converted and self.lead_of_client(client) == lead:
			return client
		return None

	def counterparty_of_client(self, client: int) -> int | None:
		if client % 2 or client // 2 >= self.n_counterparties:
			return None
		return client // 2

	def contact_of_client(self, client: int) -> int | None:
		return client if client < self.n_contacts else None

	def deal_time(self, deal: int) -> datetime:
		client, rounds = deal % self.n_clients, -(-self.n_deals // self.n_clients)
		created = self.client(client).created
		if deal < self.n_converted:
			return created
		fraction = (deal // self.n_clients + self.unit("deal-t", deal) * 0.9) / rounds
		return self.between(created + timedelta(hours=1), fraction)

	# --- records -------------------------------------------------------------------------------------
	def lead_basics(self, lead: int) -> tuple[random.Random, frappe._dict]:
		"""The person and their phone first: calls and conversions read just these."""
		rng = self.rng("lead", lead)
		first, last = self.person(rng)
		phone, phone_n = self.mobile(rng)
		return rng, frappe._dict(
			first=first,
			last=last,
			phone=phone,
			phone_normalized=phone_n,
			created=self.lead_time(lead),
			responsible=self.lead_responsible(lead),
		)

	def lead(self, lead: int) -> frappe._dict:
		rng, b = self.lead_basics(lead)
		b.company = f"{rng.choice(COMPANY_WORDS)}-{rng.choice(COMPANY_WORDS)}" if rng.random() < 0.6 else None
		b.mobile, b.mobile_normalized = self.mobile(rng) if rng.random() < 0.3 else (None, None)
		b.email = (
			self.email(rng, b.first, b.last, self.domain(b.company) if b.company else None)
			if rng.random() < 0.7
			else None
		)
		b.rng = rng
		return b

	def client(self, index: int) -> frappe._dict:
		cached = self._clients.get(index)
		if cached:
			return cached
		rng = self.rng("client", index)
		lead = self.lead_of_client(index)
		source = self.lead(lead) if lead is not None else None
		is_org = self.unit("client-org", index) < 0.8
		city, code = rng.choice(CITIES)
		c = frappe._dict(name=self.name("CRM Client", index), is_org=is_org, city=city, lead=lead)
		if source:
			c.created = self.between(source.created, rng.uniform(0.0005, 0.02))
			c.responsible = source.responsible
		else:
			c.created = self.at((index + rng.random()) / self.n_clients)
			c.responsible = self.managers[self.mix("client-resp", index) % len(self.managers)]
		if is_org:
			c.word = (source and source.company) or f"{rng.choice(COMPANY_WORDS)}-{rng.choice(COMPANY_WORDS)}"
			c.domain = self.domain(c.word)
			c.client_name = f"{c.word} ({city})"
			c.phone, c.phone_normalized = self.city_phone(rng, code)
			c.email = f"info@{c.domain}"
			c.website = f"https://{c.domain}"
		else:
			c.domain = None
			if source:
				c.first, c.last = source.first, source.last
				c.phone, c.phone_normalized, c.email = source.phone, source.phone_normalized, source.email
			else:
				c.first, c.last = self.person(rng)
				c.phone, c.phone_normalized = self.mobile(rng)
				c.email = self.email(rng, c.first, c.last)
			c.client_name = f"{c.first} {c.last}"
			c.website = None
		c.segment = rng.choice(self.segments)
		self._clients[index] = c
		return c

	def contact(self, index: int) -> frappe._dict:
		cached = self._contacts.get(index)
		if cached:
			return cached
		client_index, round_ = index % self.n_clients, index // self.n_clients
		client = self.client(client_index)
		rng = self.rng("contact", index)
		c = frappe._dict(client=client, client_index=client_index, responsible=client.responsible)
		lead = client.lead if round_ == 0 else None
		if lead is not None:
			source = self.lead(lead)
			c.first, c.last, c.phone, c.phone_normalized = (
				source.first,
				source.last,
				source.phone,
				source.phone_normalized,
			)
			c.email = source.email
		elif round_ == 0 and not client.is_org:
			c.first, c.last = client.first, client.last
			c.phone, c.phone_normalized, c.email = client.phone, client.phone_normalized, client.email
		else:
			c.first, c.last = self.person(rng)
			c.phone, c.phone_normalized = self.mobile(rng)
			c.email = self.email(rng, c.first, c.last, client.domain)
		c.full_name = f"{c.first} {c.last}"
		c.created = client.created if round_ == 0 else self.between(client.created, rng.random())
		c.role = rng.choice(tuple(DESIGNATIONS)) if client.is_org else None
		# Frappe names a contact of a client "<full name>-<client>", numbered when taken
		base = f"{c.full_name}-{client.name}"
		taken = sum(
			1
			for r in range(round_)
			if self.contact(client_index + r * self.n_clients).full_name == c.full_name
		)
		c.name = f"{base}-{taken}" if taken else base
		c.rng = rng
		self._contacts[index] = c
		return c

	# --- writing -------------------------------------------------------------------------------------
	def template(self, doctype: str) -> tuple[dict, list[str]]:
		if doctype not in self._templates:
			valid = frappe.new_doc(doctype).get_valid_dict(convert_dates_to_str=True, ignore_virtual=True)
			self._templates[doctype] = (valid, list(valid))
		return self._templates[doctype]

	def write(self, rows: dict[str, list[dict]]) -> int:
		written = 0
		for doctype, records in rows.items():
			if doctype == "__global_search":
				table, columns, defaults = "__global_search", GLOBAL_SEARCH_COLUMNS, {}
			else:
				defaults, columns = self.template(doctype)
				table = f"tab{doctype}"
			names = ", ".join(f"`{c}`" for c in columns)
			placeholder = "(" + ", ".join(["%s"] * len(columns)) + ")"
			for start in range(0, len(records), ROWS_PER_STATEMENT):
				part = records[start : start + ROWS_PER_STATEMENT]
				values = []
				for record in part:
					values.extend([record.get(c, defaults.get(c)) for c in columns])
				frappe.db.sql(
					f"insert into `{table}` ({names}) values {', '.join([placeholder] * len(part))}", values
				)
			written += len(records)
		return written

	def done(self, doctype: str) -> int:
		if doctype == "Contact":
			like = f"%-CL-{self.prefix}-%"
		else:
			like = f"{NAME_HEADS[doctype]}-{self.prefix}-%"
		return frappe.db.sql(f"select count(*) from `tab{doctype}` where name like %s", like)[0][0]

	def run_step(self, doctype: str, progress: bool = False) -> dict:
		total = self.counts[doctype]
		first = self.done(doctype)
		build = getattr(self, "build_" + frappe.scrub(doctype).removeprefix("crm_"))
		started = time.monotonic()
		rows_written = 0
		bar = None
		if progress and first < total:
			import click

			bar = click.progressbar(
				length=total - first, label=f"{doctype:<17}", show_pos=True, show_eta=True
			)
			bar.__enter__()
		try:
			for chunk_start in range(first, total, CHUNK):
				rows = Rows(self)
				for index in range(chunk_start, min(chunk_start + CHUNK, total)):
					build(index, rows)
					# records of the skeleton are computed per record, never kept (a million would not fit)
					self._clients.clear()
					self._contacts.clear()
				rows_written += self.write(rows.tables)
				frappe.db.commit()
				if bar:
					bar.update(min(CHUNK, total - chunk_start))
		finally:
			if bar:
				bar.__exit__(None, None, None)
		return {
			"records": total - first,
			"rows": rows_written,
			"seconds": round(time.monotonic() - started, 2),
		}

	def search_fields(self, doctype: str) -> list:
		if doctype not in self._search_fields:
			self._search_fields[doctype] = [
				df
				for df in frappe.get_meta(doctype).get_global_search_fields()
				if df.fieldtype not in frappe.model.table_fields
			]
		return self._search_fields[doctype]

	def formatted(self, doctype: str, fieldname: str, value):
		"""A value as Frappe's Version stores it (Document.get_formatted), cached."""
		key = (doctype, fieldname, value)
		if key not in self._formatted:
			df = frappe.get_meta(doctype).get_field(fieldname)
			if not value:
				self._formatted[key] = value
			elif df.fieldtype == "Date":
				self._formatted[key] = formatdate(value)
			else:
				self._formatted[key] = format_value(value, df)
		return self._formatted[key]

	# --- builders: one record and its derived rows ---------------------------------------------------
	def build_client(self, index: int, rows: "Rows") -> None:
		c = self.client(index)
		values = {
			"name": c.name,
			"client_name": c.client_name,
			"client_type": "Organisation" if c.is_org else "Individual",
			"segment": c.segment,
			"responsible": c.responsible,
			"source_lead": self.name("CRM Lead", c.lead) if c.lead is not None else None,
			"phone": c.phone,
			"phone_normalized": c.phone_normalized,
			"email": c.email,
			"website": c.website,
			"currency": self.currency,
		}
		rows.record("CRM Client", values, c.created, c.responsible)

	def build_counterparty(self, index: int, rows: "Rows") -> None:
		client_index = (index * 2) % self.n_clients
		client = self.client(client_index)
		rng = self.rng("counterparty", index)
		sole = not client.is_org
		bik = identifiers.make_bik(rng)
		street = f"{rng.choice(STREETS)}, д. {rng.randint(1, 120)}"
		address = f"{rng.randint(101000, 699999)}, г. {client.city}, {street}"
		if sole:
			first, last = client.first, client.last
			full, short = f"Индивидуальный предприниматель {last} {first}", f"ИП {last} {first[0]}."
			inn, kpp, ogrn = identifiers.make_inn(rng, "individual"), None, identifiers.make_ogrnip(rng)
			director = f"{last} {first}"
		else:
			full, short = f"Общество с ограниченной ответственностью «{client.word}»", f"ООО «{client.word}»"
			inn = identifiers.make_inn(rng, "organisation")
			kpp, ogrn = identifiers.make_kpp(rng, inn), identifiers.make_ogrn(rng)
			first, last = self.person(rng)
			director = f"{last} {first}"
		name = self.name("CRM Counterparty", index)
		created = self.between(client.created, rng.uniform(0, 0.01))
		owner = client.responsible
		values = {
			"name": name,
			"full_name": full,
			"short_name": short,
			"counterparty_type": "Sole Proprietor" if sole else "Legal Entity",
			"legal_form": "ИП" if sole else "ООО",
			"client": client.name,
			"is_client_itself": 1,
			"vat_status": "Without VAT" if sole else "With VAT",
			"inn": inn,
			"kpp": kpp,
			"ogrn": ogrn,
			"director": director,
			"director_position": "Индивидуальный предприниматель" if sole else "Генеральный директор",
			"signatory_basis": "Свидетельства о регистрации" if sole else "Устава",
			"legal_address": address,
			"postal_address": address,
			"phone": client.phone,
			"phone_normalized": client.phone_normalized,
			"email": client.email,
			"currency": self.currency,
		}
		rows.record("CRM Counterparty", values, created, owner)
		rows.child(
			"CRM Counterparty Bank Account",
			"CRM Counterparty",
			name,
			"bank_accounts",
			[
				{
					"bank_name": rng.choice(BANKS),
					"bik": bik,
					"settlement_account": identifiers.make_settlement_account(rng, bik),
					"corr_account": identifiers.make_corr_account(bik),
					"is_default": 1,
				}
			],
			created,
			owner,
		)

	def build_contact(self, index: int, rows: "Rows") -> None:
		c = self.contact(index)
		rng = c.rng
		client = c.client
		values = {
			"name": c.name,
			"first_name": c.first,
			"last_name": c.last,
			"full_name": c.full_name,
			"email_id": c.email or "",
			"phone": c.phone,
			"mobile_no": c.phone,
			"company_name": client.client_name if client.is_org else None,
			"designation": DESIGNATIONS.get(c.role),
			"crm_role": c.role,
			"crm_preferred_channel": rng.choice(("Phone", "E-mail", "Messenger")),
			"crm_birthday": (self.until - timedelta(days=rng.randint(25 * 365, 60 * 365))).date(),
			"crm_responsible": c.responsible,
		}
		phones = [
			{
				"phone": c.phone,
				"is_primary_phone": 1,
				"is_primary_mobile_no": 1,
				"crm_phone_normalized": c.phone_normalized,
			}
		]
		emails = [{"email_id": c.email, "is_primary": 1}] if c.email else []
		links = [{"link_doctype": "CRM Client", "link_name": client.name, "link_title": client.client_name}]
		children = {"phone_nos": phones, "email_ids": emails, "links": links}
		rows.record("Contact", values, c.created, c.responsible, children=children, key=f"CT{index + 1:07d}")
		rows.child("Contact Phone", "Contact", c.name, "phone_nos", phones, c.created, c.responsible)
		rows.child("Contact Email", "Contact", c.name, "email_ids", emails, c.created, c.responsible)
		rows.child("Dynamic Link", "Contact", c.name, "links", links, c.created, c.responsible)

	def build_lead(self, index: int, rows: "Rows") -> None:
		b = self.lead(index)
		rng = b.rng
		source = rng.choice(self.sources)
		created = b.created
		age = (self.until - created).days
		client_index = self.client_of_lead(index)
		values = {
			"name": self.name("CRM Lead", index),
			"lead_name": f"{b.first} {b.last}",
			"company_name": b.company,
			"interest": rng.choice(INTERESTS),
			"responsible": b.responsible,
			"received_on": created,
			"phone": b.phone,
			"phone_normalized": b.phone_normalized,
			"mobile_no": b.mobile or "",
			"mobile_no_normalized": b.mobile_normalized,
			"email": b.email,
			"website": f"https://{self.domain(b.company)}" if b.company and rng.random() < 0.3 else None,
			"source": source.name,
			"channel": source.channel,
		}
		if source.channel == "Website":
			values.update(
				utm_source=rng.choice(("yandex", "google", "vk")),
				utm_medium=rng.choice(("cpc", "organic", "email")),
				utm_campaign=f"campaign-{created:%Y-%m}",
			)
		if client_index is not None:
			client = self.client(client_index)
			status = "Converted"
			values.update(
				client=client.name,
				contact=self.contact(client_index).name
				if self.contact_of_client(client_index) is not None
				else None,
				deal=self.name("CRM Deal", client_index),
				converted_on=client.created,
			)
			modified = client.created
		else:
			roll = rng.random()
			if age > 90:
				status = "Disqualified" if roll < 0.85 else ("In Progress" if roll < 0.93 else "Qualified")
			elif age > 14:
				status = (
					"New"
					if roll < 0.1
					else "In Progress"
					if roll < 0.5
					else "Qualified"
					if roll < 0.7
					else "Disqualified"
				)
			else:
				status = (
					"New"
					if roll < 0.5
					else "In Progress"
					if roll < 0.85
					else "Qualified"
					if roll < 0.95
					else "Disqualified"
				)
			modified = created
			if status == "Disqualified":
				values["lost_reason"] = rng.choice(self.lead_reasons)
				modified = self.between(created, rng.uniform(0.001, 0.05))
		if status != "New":
			responded = created + timedelta(minutes=rng.randint(5, 600))
			values["first_response_on"] = min(responded, values.get("converted_on") or self.until, self.until)
			modified = max(modified, values["first_response_on"])
		values["status"] = status
		rows.record("CRM Lead", values, created, b.responsible, modified=modified)

	def build_deal(self, index: int, rows: "Rows") -> None:
		client_index = index % self.n_clients
		client = self.client(client_index)
		rng = self.rng("deal", index)
		name = self.name("CRM Deal", index)
		created = self.deal_time(index)
		responsible = client.responsible
		age = (self.until - created).days
		# where the deal ends up
		roll = rng.random()
		won, lost = (0.45, 0.45) if age > 120 else (0.25, 0.25) if age > 30 else (0.05, 0.1)
		reached = rng.randrange(len(self.open_stages))
		path = self.open_stages[: reached + 1]
		if roll < won:
			path = [*path, self.won_stage]
		elif roll < won + lost:
			path = [*path, self.lost_stage]
		cycle = timedelta(days=rng.randint(7, 120), minutes=rng.randint(0, 600))
		closed = min(created + cycle, self.until)
		moves = [created] + [
			self.between(created, (k + rng.uniform(0.2, 0.8)) / (len(path) - 1), closed)
			for k in range(len(path) - 1)
		]
		items = []
		for product in rng.sample(self.products, rng.choice((1, 1, 2, 3))):
			qty = rng.choice((1, 2, 5, 10, 20, 50, 100)) if product.uom in ("шт", "м") else rng.randint(1, 40)
			discount = rng.choice((0, 0, 0, 5, 10))
			items.append(
				{
					"product": product.name,
					"item_name": product.item_name,
					"qty": qty,
					"uom": product.uom,
					"rate": product.rate,
					"discount_percentage": discount,
					"amount": flt(qty * product.rate * (1 - discount / 100), 2),
					"currency": self.currency,
				}
			)
		total = flt(sum(item["amount"] for item in items), 2)
		counterparty = self.counterparty_of_client(client_index)
		state = {
			"stage": path[0],
			"stage_type": pipelines.OPEN,
			"probability": flt(self.stages[path[0]].probability),
		}
		state.update(won_on=None, lost_on=None, lost_reason=None, lost_at_stage=None)
		versions = []
		for k in range(1, len(path)):
			before = dict(state)
			stage = self.stages[path[k]]
			state.update(
				stage=stage.stage_name, stage_type=stage.stage_type, probability=flt(stage.probability)
			)
			if stage.stage_type == pipelines.WON:
				state["won_on"] = moves[k].date()
			elif stage.stage_type == pipelines.LOST:
				state.update(
					lost_on=moves[k].date(),
					lost_reason=rng.choice(self.deal_reasons),
					lost_at_stage=path[k - 1],
				)
			versions.append((moves[k], self.stage_change(before, state)))
		position = {stage_name: k for k, stage_name in enumerate(self.stages, start=1)}
		values = {
			"name": name,
			"deal_name": f"{client.client_name} — {items[0]['item_name']}",
			"furthest_stage_order": max(position[s] for s in path if s in self.open_stages),
			"client": client.name,
			"counterparty": self.name("CRM Counterparty", counterparty) if counterparty is not None else None,
			"source_lead": self.name("CRM Lead", client.lead) if index < self.n_converted else None,
			"pipeline": self.pipeline,
			"responsible": responsible,
			"amount": total,
			"currency": self.currency,
			"expected_close_date": (created + cycle).date(),
			"items_total": total,
			**state,
		}
		rows.record("CRM Deal", values, created, responsible, modified=moves[-1])
		rows.child("CRM Deal Item", "CRM Deal", name, "items", items, created, responsible)
		contact = self.contact_of_client(client_index)
		if contact is not None:
			contact_row = {
				"contact": self.contact(contact).name,
				"full_name": self.contact(contact).full_name,
			}
			rows.child(
				"CRM Deal Contact",
				"CRM Deal",
				name,
				"contacts",
				[{**contact_row, "is_primary": 1}],
				created,
				responsible,
			)
		if rng.random() < 0.1:
			team = [u for u in self.teams[self.team_of[responsible]] if u != responsible]
			if team:
				user = rng.choice(team)
				rows.child(
					"CRM Deal Manager",
					"CRM Deal",
					name,
					"co_managers",
					[{"user": user, "full_name": self.full_name(user)}],
					created,
					responsible,
				)
		for k, (moment, data) in enumerate(versions):
			rows.add(
				"Version",
				{
					"name": f"{self.prefix}-V{index + 1:07d}-{k + 1}",
					"creation": moment,
					"modified": moment,
					"owner": responsible,
					"modified_by": responsible,
					"ref_doctype": "CRM Deal",
					"docname": name,
					"data": data,
				},
			)
		order = position
		for k, stage_name in enumerate(path):
			left_on = moves[k + 1] if k + 1 < len(path) else None
			rows.add(
				"CRM Deal Stage History",
				{
					"name": f"{self.prefix}-H{index + 1:07d}-{k + 1}",
					"creation": moves[k],
					"modified": moves[k],
					"owner": responsible,
					"modified_by": responsible,
					"deal": name,
					"pipeline": self.pipeline,
					"stage": stage_name,
					"stage_type": self.stages[stage_name].stage_type,
					"stage_order": order[stage_name],
					"entered_on": moves[k],
					"left_on": left_on,
					"next_stage": path[k + 1] if left_on else None,
					"days_in_stage": stage_history.days_between(moves[k], left_on) if left_on else 0,
					"amount": total,
					"currency": self.currency,
					"responsible": responsible,
					"deal_responsible": responsible,
					"moved_by": responsible,
					"deal_creation": created,
				},
			)
		if state["stage_type"] == pipelines.WON:
			self.build_orders(index, name, client, counterparty, total, moves[-1], rng, rows)

	def stage_change(self, before: dict, after: dict) -> str:
		changed = [
			[
				fieldname,
				self.formatted("CRM Deal", fieldname, before[fieldname]),
				self.formatted("CRM Deal", fieldname, after[fieldname]),
			]
			for fieldname in self.deal_tracked_fields()
			if before[fieldname] != after[fieldname]
		]
		data = {
			"added": [],
			"changed": changed,
			"data_import": None,
			"removed": [],
			"row_changed": [],
			"updater_reference": None,
		}
		return frappe.as_json(data, indent=None, separators=(",", ":"))

	def deal_tracked_fields(self) -> list[str]:
		if not hasattr(self, "_deal_fields"):
			tracked = {
				"stage",
				"stage_type",
				"probability",
				"won_on",
				"lost_on",
				"lost_reason",
				"lost_at_stage",
			}
			self._deal_fields = [
				df.fieldname for df in frappe.get_meta("CRM Deal").fields if df.fieldname in tracked
			]
		return self._deal_fields

	def full_name(self, user: str) -> str:
		if not hasattr(self, "_full_names"):
			self._full_names = dict(
				frappe.get_all(
					"User",
					filters={"name": ("in", self.managers)},
					fields=["name", "full_name"],
					as_list=True,
				)
			)
		return self._full_names.get(user)

	def build_orders(
		self, deal: int, deal_name: str, client, counterparty, total: float, won_at: datetime, rng, rows
	) -> None:
		parts = 1 if rng.random() < 0.7 else 2
		for k in range(parts):
			ordered = min(won_at + timedelta(days=rng.randint(0, 14) + 20 * k), self.until)
			amount = flt(total / parts, 2)
			paid = amount if (self.until - ordered).days > 30 or rng.random() < 0.5 else flt(amount * 0.5, 2)
			external_id = f"{self.prefix}-1C-{deal + 1:07d}-{k + 1}"
			rows.record(
				"CRM Order",
				{
					"name": f"{NAME_HEADS['CRM Order']}-{self.prefix}-{deal + 1:07d}-{k + 1}",
					"external_id": external_id,
					"order_number": external_id,
					"order_date": ordered.date(),
					"status": rng.choice(ORDER_STATUSES) if paid == amount else "Отгружен",
					"deal": deal_name,
					"client": client.name,
					"counterparty": self.name("CRM Counterparty", counterparty)
					if counterparty is not None
					else None,
					"amount": amount,
					"paid_amount": paid,
					"currency": self.currency,
					"synced_on": ordered,
				},
				ordered,
				client.responsible,
			)

	def reference(self, kind: str, index: int) -> tuple[str, str, datetime, str]:
		"""(doctype, name, created, responsible) of a lead, client or deal, from the skeleton."""
		if kind == "CRM Lead":
			return kind, self.name(kind, index), self.lead_time(index), self.lead_responsible(index)
		if kind == "CRM Client":
			client = self.client(index)
			return kind, client.name, client.created, client.responsible
		client = self.client(index % self.n_clients)
		return kind, self.name(kind, index), self.deal_time(index), client.responsible

	def build_task(self, index: int, rows: "Rows") -> None:
		rng = self.rng("task", index)
		roll = rng.random()
		kind = "CRM Deal" if roll < 0.5 else "CRM Lead" if roll < 0.8 else "CRM Client"
		doctype, ref_name, ref_created, responsible = self.reference(kind, rng.randrange(self.counts[kind]))
		created = self.between(ref_created, rng.random() ** 2)
		due = created + timedelta(days=rng.randint(0, 10), hours=rng.randint(1, 9))
		task_type = rng.choice(("Call", "Call", "Call", "Meeting", "Email", "Other"))
		values = {
			"name": self.name("CRM Task", index),
			"subject": rng.choice(TASK_SUBJECTS[task_type]),
			"task_type": task_type,
			"priority": rng.choice(("Low", "Medium", "Medium", "Medium", "High", "Urgent")),
			"assigned_to": responsible,
			"author": responsible,
			"due_on": due,
			"reference_doctype": doctype,
			"reference_name": ref_name,
		}
		modified = created
		if due < self.until:
			roll = rng.random()
			status = "Done" if roll < 0.8 else "Cancelled" if roll < 0.85 else "Open"
		else:
			status = "Open" if rng.random() < 0.7 else "In Progress"
		if status == "Done":
			values["completed_on"] = modified = self.between(created, rng.random(), due)
			values["result"] = rng.choice(TASK_RESULTS)
		elif status == "Cancelled":
			modified = self.between(created, rng.random(), due)
		values["status"] = status
		values["list_order"] = task_list_order(status, due, values.get("completed_on") or modified)
		rows.record("CRM Task", values, created, responsible, modified=modified)

	def build_call(self, index: int, rows: "Rows") -> None:
		rng = self.rng("call", index)
		values = {"name": self.name("CRM Call", index)}
		if rng.random() < 0.4:
			lead = rng.randrange(self.n_leads)
			_lead_rng, b = self.lead_basics(lead)
			phone, phone_n, created, manager = b.phone, b.phone_normalized, b.created, b.responsible
			values["lead"] = self.name("CRM Lead", lead)
		else:
			contact_index = rng.randrange(self.n_contacts)
			contact = self.contact(contact_index)
			phone, phone_n, created, manager = (
				contact.phone,
				contact.phone_normalized,
				contact.created,
				contact.responsible,
			)
			values.update(contact=contact.name, client=contact.client.name)
			if contact.client_index < self.n_deals and rng.random() < 0.5:
				values["deal"] = self.name("CRM Deal", contact.client_index)
				created = max(created, self.deal_time(contact.client_index))
		started = self.between(created, rng.random())
		direction = "Inbound" if rng.random() < 0.5 else "Outbound"
		missed = direction == "Inbound" and rng.random() < 0.15
		values.update(
			phone=phone,
			phone_normalized=phone_n,
			direction=direction,
			call_status="Missed" if missed else "Answered",
			started_at=started,
			duration=0 if missed else rng.randint(20, 900),
			manager=manager,
			call_id=f"{self.prefix.lower()}-{index + 1}",
			topic=rng.choice(CALL_TOPICS),
			result=None if missed else rng.choice(CALL_RESULTS),
		)
		rows.record("CRM Call", values, started, manager)

	def build_complaint(self, index: int, rows: "Rows") -> None:
		"""A complaint of a client's contact person, about the client's first deal at times; received after
		both, worked by the client's manager. Those older than a month are mostly closed with a resolution."""
		rng = self.rng("complaint", index)
		contact = self.contact(rng.randrange(self.n_contacts))
		client = contact.client
		received = contact.created
		values = {
			"name": self.name("CRM Complaint", index),
			"client": client.name,
			"contact": contact.name,
			"responsible": client.responsible,
			"category": rng.choice(self.complaint_categories),
			"description": rng.choice(COMPLAINT_TEXTS),
		}
		if contact.client_index < self.n_deals and rng.random() < 0.6:
			values["deal"] = self.name("CRM Deal", contact.client_index)
			received = max(received, self.deal_time(contact.client_index))
		received = self.between(received, rng.random() ** 0.5)
		age_days = (self.until - received).days
		roll = rng.random()
		if age_days > 30:
			status = "Resolved" if roll < 0.8 else "Rejected" if roll < 0.95 else "In Work"
		else:
			status = "Registered" if roll < 0.4 else "In Work" if roll < 0.8 else "Resolved"
		modified = received
		if status in COMPLAINT_RESOLUTIONS:
			resolved = min(received + timedelta(hours=rng.randint(2, 24 * 20)), self.until)
			values.update(
				resolved_on=resolved,
				resolution=rng.choice(COMPLAINT_RESOLUTIONS[status]),
				days_to_resolve=flt((resolved - received).total_seconds() / 86400, 2),
			)
			modified = resolved
		values.update(subject=values["category"], status=status, received_on=received)
		rows.record("CRM Complaint", values, received, client.responsible, modified=modified)


GLOBAL_SEARCH_COLUMNS = ("doctype", "name", "title", "content", "route", "published")


class Rows:
	"""The rows of one chunk, per table, with the rows derived from each record."""

	def __init__(self, dataset: Dataset):
		self.dataset = dataset
		self.tables: dict[str, list[dict]] = defaultdict(list)
		# the key of the record last added: its child and index rows are named after it
		self._key = None

	def add(self, table: str, values: dict) -> None:
		self.tables[table].append(values)

	def record(
		self,
		doctype: str,
		values: dict,
		created: datetime,
		owner: str,
		modified: datetime | None = None,
		children: dict | None = None,
		key: str | None = None,
	) -> None:
		"""A record, its duplicate-index and search rows; `key` names its child rows (default: its name)."""
		self._key = key or values["name"]
		values.update(creation=created, modified=modified or created, owner=owner, modified_by=owner)
		self.add(doctype, values)
		self.contact_points(doctype, values, children, created, owner)
		self.search(doctype, values)

	def child(self, doctype, parenttype, parent, parentfield, records, created, owner) -> None:
		"""Rows of a child table of the record just added."""
		for idx, values in enumerate(records, 1):
			self.add(
				doctype,
				{
					**values,
					"name": self.child_name(parentfield, idx),
					"parent": parent,
					"parenttype": parenttype,
					"parentfield": parentfield,
					"idx": idx,
					"creation": created,
					"modified": created,
					"owner": owner,
					"modified_by": owner,
				},
			)

	def child_name(self, parentfield: str, idx: int) -> str:
		"""`SC-DEAL-SC-0000001-items-1`, `SC-CT0000001-phone_nos-1` (contacts are named after people): names
		that grow with the records, so the rows go to the end of their table's primary key."""
		return f"{self.dataset.prefix}-{self._key}-{parentfield}-{idx}"

	def contact_points(self, doctype, values, children, created, owner) -> None:
		doc = frappe._dict(values, doctype=doctype, flags=frappe._dict())
		for fieldname, records in (children or {}).items():
			doc[fieldname] = [frappe._dict(r) for r in records]
		for k, (kind, value) in enumerate(sorted(contact_points(doc))):
			self.add(
				CONTACT_POINT,
				{
					"name": self.child_name("points", k),
					"creation": created,
					"modified": created,
					"owner": owner,
					"modified_by": owner,
					"kind": kind,
					"value": value,
					"reference_doctype": doctype,
					"reference_name": doc.name,
				},
			)

	def search(self, doctype: str, values: dict) -> None:
		"""The row Frappe's update_global_search makes of the record (title, "Label : value" content)."""
		if doctype not in self.dataset.search_doctypes:
			return
		fields = self.dataset.search_fields(doctype)
		content = [get_formatted_value(values[df.fieldname], df) for df in fields if values.get(df.fieldname)]
		if not content:
			return
		title_field = frappe.get_meta(doctype).title_field
		self.add(
			"__global_search",
			{
				"doctype": doctype,
				"name": values["name"],
				"title": cstr(values.get(title_field))[: int(frappe.db.VARCHAR_LEN)],
				"content": " ||| ".join(content),
				"route": None,
				"published": 0,
			},
		)
