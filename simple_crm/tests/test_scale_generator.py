"""The dataset generator (simple_crm.scale.generator) on a tiny scale, through its real entry point.

Its records bypass the controllers, so these tests hold them against the controllers: saving a generated
record changes nothing, its duplicate-index rows are exactly what sync_contact_points keeps, and its
links point at records that exist. Everything it makes carries the prefix ST and is removed at the end.
"""

import itertools
import json

import frappe
from frappe.utils import get_datetime

from simple_crm.duplicates import CONTACT_POINT, contact_points, stored_points, sync_contact_points
from simple_crm.scale.generator import (
	BASE_COUNTS,
	NAME_HEADS,
	Dataset,
	GeneratorParametersError,
	clear,
	generate,
)
from simple_crm.tests.utils import CRMTestCase
from simple_crm.utils import identifiers
from simple_crm.utils.phones import normalize_phone

PREFIX = "ST"
SCALE = 0.0005
SEED = 7
UNTIL = "2026-06-30"
SAMPLE = 25
INDEXED = ("CRM Lead", "CRM Client", "CRM Counterparty", "Contact")


def run(**kwargs):
	return generate(scale=SCALE, seed=SEED, prefix=PREFIX, until=UNTIL, **kwargs)


def like(doctype: str) -> str:
	return f"%-CL-{PREFIX}-%" if doctype == "Contact" else f"{NAME_HEADS[doctype]}-{PREFIX}-%"


def names(doctype: str, limit: int | None = None) -> list[str]:
	return frappe.get_all(
		doctype, filters={"name": ("like", like(doctype))}, pluck="name", order_by="name", limit=limit
	)


def sample(doctype: str) -> list[str]:
	"""Records spread over the whole range (the first, the last and those between)."""
	everything = names(doctype)
	step = max(1, len(everything) // SAMPLE)
	return everything[::step] + everything[-1:]


def snapshot() -> dict:
	"""Values of a sample of generated rows, for comparing two runs."""
	tables = {
		doctype: sample(doctype) for doctype in ("CRM Lead", "CRM Client", "Contact", "CRM Deal", "CRM Call")
	}
	out = {}
	for doctype, records in tables.items():
		for name in records:
			doc = frappe.get_doc(doctype, name).as_dict(convert_dates_to_str=True)
			out[(doctype, name)] = {k: v for k, v in doc.items() if not k.startswith("__")}
	out["versions"] = frappe.get_all(
		"Version",
		filters={"name": ("like", f"{PREFIX}-%")},
		fields=["name", "docname", "creation", "data"],
		order_by="name",
		limit=50,
	)
	out["points"] = frappe.db.sql(
		f"select kind, value, reference_doctype, reference_name from `tab{CONTACT_POINT}` "
		"where name like %s order by name",
		f"{PREFIX}-%",
	)
	return out


class TestScaleGenerator(CRMTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		clear(PREFIX)
		run()

	@classmethod
	def tearDownClass(cls):
		clear(PREFIX)
		super().tearDownClass()

	def test_counts_follow_the_scale(self):
		for doctype, base in BASE_COUNTS.items():
			self.assertEqual(len(names(doctype)), max(1, round(base * SCALE)), doctype)
		self.assertTrue(names("CRM Order"), "won deals have orders")
		# the calls per manager and day the app keeps as calls are saved (simple_crm.call_days)
		self.assertEqual(
			frappe.db.sql(
				"""select `manager`, `day`, `calls`, `talk_time` from `tabCRM Call Day`
				where `manager` like %(users)s order by `manager`, `day`""",
				{"users": f"{PREFIX.lower()}.%"},
			),
			frappe.db.sql(
				"""select `manager`, date(`started_at`), count(*), sum(`duration`) from `tabCRM Call`
				where `manager` like %(users)s group by `manager`, date(`started_at`) order by 1, 2""",
				{"users": f"{PREFIX.lower()}.%"},
			),
		)
		versions = frappe.db.count("Version", {"name": ("like", f"{PREFIX}-%"), "ref_doctype": "CRM Deal"})
		self.assertGreater(versions, len(names("CRM Deal")) // 2, "deals carry their stage history")
		teams = frappe.get_all("CRM Sales Team", filters={"name": ("like", f"{PREFIX} %")}, pluck="head")
		self.assertEqual(len(teams), 2)
		for head in teams:
			self.assertIn("CRM Head of Sales", frappe.get_roles(head))
		statuses = dict(
			frappe.db.sql(
				"select status, count(*) from `tabCRM Lead` where name like %s group by status",
				like("CRM Lead"),
			)
		)
		self.assertGreater(
			statuses.get("Converted", 0) + statuses.get("Disqualified", 0), sum(statuses.values()) / 2
		)

	def test_saving_a_generated_record_changes_nothing(self):
		"""What the controllers would have made of the record is what the generator wrote."""
		from frappe.contacts.doctype.contact.contact import set_link_title

		from simple_crm import contact_events

		for doctype in (*BASE_COUNTS, "CRM Order"):
			for name in sample(doctype):
				doc = frappe.get_doc(doctype, name)
				stored = doc.as_dict(convert_dates_to_str=True, no_default_fields=True)
				doc.flags.ignore_duplicates = True
				if doctype == "Contact":
					# Frappe's own Contact.validate also asks gravatar.com about the e-mail: its steps are run here
					contact_events.validate(doc)
					doc.full_name = doc._get_full_name()
					doc.set_primary_email()
					doc.set_primary("phone")
					doc.set_primary("mobile_no")
					set_link_title(doc)
				else:
					doc._doc_before_save = frappe.get_doc(doctype, name)
					doc.validate()
				saved = doc.as_dict(convert_dates_to_str=True, no_default_fields=True)
				changed = {k: (stored.get(k), v) for k, v in saved.items() if stored.get(k) != v}
				self.assertEqual(changed, {}, name)

	def test_duplicate_index_is_what_sync_keeps(self):
		for doctype in INDEXED:
			for name in sample(doctype):
				doc = frappe.get_doc(doctype, name)
				points = contact_points(doc)
				self.assertTrue(points, name)
				self.assertEqual(stored_points(doctype, name), points, name)
				rows = frappe.get_all(
					CONTACT_POINT,
					filters={"reference_doctype": doctype, "reference_name": name},
					pluck="name",
				)
				sync_contact_points(doc)
				self.assertEqual(
					sorted(rows),
					frappe.get_all(
						CONTACT_POINT,
						filters={"reference_doctype": doctype, "reference_name": name},
						pluck="name",
						order_by="name",
					),
					f"{name}: sync_contact_points found something to change",
				)
				for kind, value in points:
					if kind == "Phone":
						self.assertEqual(normalize_phone(value), value)
					elif kind == "Email":
						self.assertEqual(value, value.lower())
					else:
						self.assertEqual(identifiers.validate_inn(value), value)
		for doctype in INDEXED:
			# every record has its rows, and none is left over
			indexed = frappe.db.sql(
				f"select count(distinct reference_name) from `tab{CONTACT_POINT}` "
				"where reference_doctype=%s and name like %s",
				(doctype, f"{PREFIX}-%"),
			)[0][0]
			self.assertEqual(indexed, len(names(doctype)), doctype)
		for name in sample("CRM Lead"):
			lead = frappe.get_doc("CRM Lead", name)
			self.assertEqual(normalize_phone(lead.phone), lead.phone_normalized)
		for name in sample("CRM Counterparty"):
			cp = frappe.get_doc("CRM Counterparty", name)
			kind = "individual" if cp.counterparty_type == "Sole Proprietor" else "organisation"
			self.assertEqual(identifiers.validate_inn(cp.inn, kind), cp.inn)
			if cp.kpp:
				self.assertEqual(identifiers.validate_kpp(cp.kpp), cp.kpp)

	def test_search_bar_rows_are_what_frappe_makes(self):
		from frappe.utils.global_search import get_doctypes_with_global_search, update_global_search

		searched = set(get_doctypes_with_global_search(with_child_tables=False))
		for doctype in (*BASE_COUNTS, "CRM Order"):
			for name in sample(doctype)[:5]:
				if doctype not in searched:
					# not in the search bar: Frappe makes no row, nor does the generator
					self.assertFalse(
						frappe.db.sql(
							"select 1 from `__global_search` where doctype=%s and name=%s", (doctype, name)
						),
						name,
					)
					continue
				frappe.cache.delete_value("global_search_queue")
				update_global_search(frappe.get_doc(doctype, name))
				queued = frappe._dict(json.loads(frappe.cache.lpop("global_search_queue")))
				self.assertEqual(queued.name, name)
				row = frappe.db.sql(
					"select title, content, route, published from `__global_search` where doctype=%s and name=%s",
					(doctype, name),
					as_dict=True,
				)
				self.assertEqual(
					row, [{k: queued[k] for k in ("title", "content", "route", "published")}], name
				)

	def test_links_point_at_records_that_exist(self):
		def dangling(query: str) -> int:
			return frappe.db.sql(query, {"p": f"%-{PREFIX}-%"})[0][0]

		checks = {
			"deal without its client": "select count(*) from `tabCRM Deal` d left join `tabCRM Client` c "
			"on c.name=d.client where d.name like %(p)s and c.name is null",
			"counterparty without its client": "select count(*) from `tabCRM Counterparty` d left join "
			"`tabCRM Client` c on c.name=d.client where d.name like %(p)s and c.name is null",
			"deal counterparty of another client": "select count(*) from `tabCRM Deal` d join "
			"`tabCRM Counterparty` cp on cp.name=d.counterparty where d.name like %(p)s and cp.client!=d.client",
			"contact linked to no client": "select count(*) from `tabDynamic Link` l left join `tabCRM Client` c "
			"on c.name=l.link_name where l.parenttype='Contact' and l.parent like %(p)s and c.name is null",
			"converted lead without client, contact or deal": "select count(*) from `tabCRM Lead` l "
			"left join `tabCRM Client` c on c.name=l.client left join `tabContact` ct on ct.name=l.contact "
			"left join `tabCRM Deal` d on d.name=l.deal where l.name like %(p)s and l.status='Converted' "
			"and (c.name is null or ct.name is null or d.name is null or c.source_lead!=l.name)",
			"task about a missing record": "select count(*) from `tabCRM Task` t left join `tabCRM Lead` l "
			"on l.name=t.reference_name left join `tabCRM Deal` d on d.name=t.reference_name left join "
			"`tabCRM Client` c on c.name=t.reference_name where t.name like %(p)s and "
			"coalesce(l.name, d.name, c.name) is null",
			"call about a missing record": "select count(*) from `tabCRM Call` k left join `tabCRM Lead` l "
			"on l.name=k.lead left join `tabContact` c on c.name=k.contact where k.name like %(p)s and "
			"l.name is null and c.name is null",
			"order of another client than its deal": "select count(*) from `tabCRM Order` o join `tabCRM Deal` d "
			"on d.name=o.deal where o.name like %(p)s and (d.client!=o.client or d.stage_type!='Won')",
			"deal contact missing": "select count(*) from `tabCRM Deal Contact` r left join `tabContact` c "
			"on c.name=r.contact where r.parent like %(p)s and c.name is null",
			"responsible not a manager": "select count(*) from `tabCRM Lead` l left join `tabHas Role` r "
			"on r.parent=l.responsible and r.role='CRM Sales Manager' where l.name like %(p)s and r.name is null",
			"complaint of a missing client": "select count(*) from `tabCRM Complaint` k left join `tabCRM Client` c "
			"on c.name=k.client where k.name like %(p)s and c.name is null",
			"complaint about another client's deal": "select count(*) from `tabCRM Complaint` k join `tabCRM Deal` d "
			"on d.name=k.deal where k.name like %(p)s and d.client!=k.client",
			"complaint contact not of its client": "select count(*) from `tabCRM Complaint` k left join "
			"`tabDynamic Link` l on l.parenttype='Contact' and l.parent=k.contact and l.link_doctype='CRM Client' "
			"and l.link_name=k.client where k.name like %(p)s and l.name is null",
			"complaint received before its deal or after today": "select count(*) from `tabCRM Complaint` k "
			"left join `tabCRM Deal` d on d.name=k.deal where k.name like %(p)s and (k.received_on < d.creation "
			"or k.received_on > now() or k.resolved_on < k.received_on)",
			"search row missing": "select count(*) from `tabCRM Deal` d left join `__global_search` g "
			"on g.doctype='CRM Deal' and g.name=d.name where d.name like %(p)s and g.name is null",
		}
		for label, query in checks.items():
			self.assertEqual(dangling(query), 0, label)

	def test_stage_history_is_frappes_version_log(self):
		deal = frappe.get_all(
			"CRM Deal",
			filters={"name": ("like", like("CRM Deal")), "stage_type": "Won"},
			fields=["name", "stage", "won_on", "creation", "modified"],
			limit=1,
		)[0]
		versions = frappe.get_all(
			"Version",
			filters={"ref_doctype": "CRM Deal", "docname": deal.name},
			fields=["data", "creation"],
			order_by="creation",
		)
		self.assertTrue(versions)
		stages = [frappe.parse_json(v.data)["changed"][0] for v in versions]
		self.assertTrue(all(change[0] == "stage" for change in stages))
		self.assertEqual(stages[-1][2], deal.stage)
		for before, after in itertools.pairwise(stages):
			self.assertEqual(before[2], after[1], "each move starts where the last one ended")
		self.assertEqual(get_datetime(versions[-1].creation), get_datetime(deal.modified))
		self.assertGreaterEqual(get_datetime(versions[0].creation), get_datetime(deal.creation))
		# the same JSON as Frappe writes for a stage move (Version.set_diff)
		last = frappe.parse_json(versions[-1].data)
		self.assertEqual(
			sorted(last), ["added", "changed", "data_import", "removed", "row_changed", "updater_reference"]
		)
		self.assertIn(["won_on", None, frappe.utils.formatdate(deal.won_on)], last["changed"])

	def test_stage_history_rows_tell_the_same_moves(self):
		"""The deal's own history (one stay per stage) agrees with its versions and continues as the
		controller writes it when the deal moves on."""
		deals = frappe.get_all(
			"CRM Deal",
			filters={"name": ("like", like("CRM Deal"))},
			fields=["name", "stage", "creation", "pipeline", "amount", "responsible", "stage_type"],
			limit=20,
		)
		for deal in deals:
			stays = frappe.get_all(
				"CRM Deal Stage History",
				filters={"deal": deal.name},
				fields=[
					"stage",
					"stage_type",
					"entered_on",
					"left_on",
					"next_stage",
					"days_in_stage",
					"amount",
					"stage_order",
					"deal_creation",
				],
				order_by="entered_on asc",
			)
			versions = frappe.get_all(
				"Version",
				filters={"ref_doctype": "CRM Deal", "docname": deal.name},
				fields=["data", "creation"],
				order_by="creation",
			)
			self.assertEqual(len(stays), len(versions) + 1, deal.name)
			self.assertEqual(get_datetime(stays[0].entered_on), get_datetime(deal.creation))
			self.assertEqual(stays[-1].stage, deal.stage)
			self.assertIsNone(stays[-1].left_on)
			for stay, following, version in zip(stays, stays[1:], versions, strict=False):
				change = frappe.parse_json(version.data)["changed"][0]
				self.assertEqual((stay.stage, following.stage), (change[1], change[2]))
				self.assertEqual(get_datetime(stay.left_on), get_datetime(version.creation))
				self.assertEqual(stay.left_on, following.entered_on)
				self.assertEqual(stay.next_stage, following.stage)
				seconds = (get_datetime(stay.left_on) - get_datetime(stay.entered_on)).total_seconds()
				self.assertAlmostEqual(stay.days_in_stage, seconds / 86400, places=2)
			for stay in stays:
				self.assertEqual(stay.amount, deal.amount)
				self.assertGreater(stay.stage_order, 0)
				self.assertEqual(get_datetime(stay.deal_creation), get_datetime(deal.creation))
			self.assertEqual(
				frappe.db.get_value("CRM Deal", deal.name, "furthest_stage_order"),
				max(stay.stage_order for stay in stays if stay.stage_type == "Open"),
			)

		open_deal = next(deal for deal in deals if deal.stage_type == "Open")
		doc = frappe.get_doc("CRM Deal", open_deal.name)
		stages = [s.stage_name for s in frappe.get_doc("CRM Pipeline", doc.pipeline).stages]
		doc.stage = next(
			s
			for s in stages
			if s != doc.stage
			and frappe.get_value(
				"CRM Pipeline Stage", {"parent": doc.pipeline, "stage_name": s}, "stage_type"
			)
			== "Open"
		)
		doc.save()
		last_two = frappe.get_all(
			"CRM Deal Stage History",
			filters={"deal": doc.name},
			fields=["stage", "left_on", "next_stage"],
			order_by="entered_on desc",
			limit=2,
		)
		self.assertEqual(last_two[0].stage, doc.stage)
		self.assertIsNone(last_two[0].left_on)
		self.assertEqual(last_two[1].next_stage, doc.stage)
		self.assertIsNotNone(last_two[1].left_on)
		frappe.db.rollback()

	def test_a_normal_insert_afterwards_takes_its_series_number(self):
		lead = frappe.get_doc(
			{"doctype": "CRM Lead", "lead_name": "После генерации", "phone": "+7 901 111-22-33"}
		)
		lead.insert()
		self.assertRegex(lead.name, r"^LEAD-\d{4}-\d{5,}$")
		self.assertEqual(stored_points("CRM Lead", lead.name), {("Phone", "+79011112233")})

	def test_same_seed_same_data_after_a_resumed_run(self):
		"""Interrupted after the first doctype, the run continues where it stopped: the same rows, once."""
		before = snapshot()
		clear(PREFIX)
		run(steps=("CRM Client",))
		self.assertEqual(len(names("CRM Lead")), 0)
		clients = len(names("CRM Client"))
		report = run()
		self.assertEqual(report["CRM Client"]["records"], 0, "clients were not made twice")
		self.assertEqual(len(names("CRM Client")), clients)
		for doctype, base in BASE_COUNTS.items():
			self.assertEqual(len(names(doctype)), max(1, round(base * SCALE)), doctype)
		self.assertEqual(snapshot(), before)
		self.assertEqual(run()["CRM Call"]["records"], 0, "a finished run has nothing left to do")

	def test_another_seed_gives_other_data_and_is_refused_on_top(self):
		ours = Dataset(SCALE, SEED, PREFIX, get_datetime(UNTIL).date())
		theirs = Dataset(SCALE, SEED + 1, PREFIX, get_datetime(UNTIL).date())
		self.assertEqual(
			ours.mix("lead", 3), Dataset(SCALE, SEED, PREFIX, get_datetime(UNTIL).date()).mix("lead", 3)
		)
		self.assertNotEqual(ours.mix("lead", 3), theirs.mix("lead", 3))
		with self.assertRaises(GeneratorParametersError):
			generate(scale=SCALE, seed=SEED + 1, prefix=PREFIX, until=UNTIL)
