"""Who may do what, through every door.

- The role x doctype x read/write/create/delete matrix, checked through the ORM (`frappe.get_list`,
  `frappe.get_doc`, save, insert, delete) and over REST as real users with API tokens: what is allowed
  succeeds, what is not answers 403 (a PermissionError) and changes nothing.
- Row-level visibility in a sales organisation (sales_org.py): own records, co-managed deals, assigned
  records, a head of sales' team, unassigned leads, everyone for director and administrator.
- The side doors a record could leak through: link search, Report Builder, export, child tables,
  `frappe.client` methods, global search; and the financial fields a sales manager cannot write.

The expected rights are written out below by hand, from the roles the README promises: the test compares
the site with that table, not with the DocPerm rows it would otherwise just copy.
"""

import itertools
import json

import frappe
from frappe.utils import now_datetime
from frappe.utils.global_search import sync_global_search

from simple_crm.tests import factories, sales_org
from simple_crm.tests.sales_org import SalesOrgRestTestCase, email

SALES, HEAD, DIRECTOR, ADMIN = "sales manager", "head of sales", "director", "CRM administrator"
ROLE_OF = {
	"sales1": SALES,
	"sales2": SALES,
	"sales3": SALES,
	"head_a": HEAD,
	"head_b": HEAD,
	"director": DIRECTOR,
	"crm_admin": ADMIN,
}
WORK = {SALES: "rwc", HEAD: "rwcd", DIRECTOR: "r", ADMIN: "rwcd"}
SETUP = {SALES: "r", HEAD: "r", DIRECTOR: "r", ADMIN: "rwcd"}
RIGHTS = {
	# the records sales people work on
	"CRM Lead": WORK,
	"CRM Deal": WORK,
	"CRM Client": WORK,
	"CRM Counterparty": WORK,
	"Contact": {**WORK, DIRECTOR: "rc"},  # Frappe lets every user (role All) create contacts
	"CRM Call": WORK,
	"CRM Task": {**WORK, SALES: "rwcd"},  # one's own tasks may be deleted
	"CRM Order": {SALES: "r", HEAD: "r", DIRECTOR: "r", ADMIN: "rwcd"},  # come from accounting
	# configuration
	"CRM Lead Source": SETUP,
	"CRM Lost Reason": SETUP,
	"CRM Client Segment": SETUP,
	"CRM Product": SETUP,
	"CRM Pipeline": SETUP,
	"CRM Sales Team": SETUP,
	"Simple CRM Settings": {SALES: "r", HEAD: "r", DIRECTOR: "r", ADMIN: "rw"},
	# records the system writes
	"CRM Hand Over": {SALES: "", HEAD: "r", DIRECTOR: "r", ADMIN: "r"},
	"CRM Contact Point": {SALES: "", HEAD: "", DIRECTOR: "r", ADMIN: "r"},
}
ROW_LEVEL = (
	"CRM Lead",
	"CRM Deal",
	"CRM Client",
	"CRM Counterparty",
	"Contact",
	"CRM Call",
	"CRM Task",
	"CRM Order",
)
SINGLE = "Simple CRM Settings"
# the matrix's records belong to sales1 (team A): seen by them, their head and those who see everything
SEES_SALES1 = frozenset({"sales1", "head_a", "director", "crm_admin"})
# the field each update changes (a Check field is toggled, the Settings' policy switched)
UPDATE_FIELD = {
	"CRM Lead": "interest",
	"CRM Deal": "deal_name",
	"CRM Client": "description",
	"CRM Counterparty": "director",
	"Contact": "designation",
	"CRM Call": "topic",
	"CRM Task": "result",
	"CRM Order": "order_number",
	"CRM Lead Source": "description",
	"CRM Lost Reason": "description",
	"CRM Client Segment": "description",
	"CRM Product": "description",
	"CRM Pipeline": "disabled",
	"CRM Sales Team": "disabled",
	"Simple CRM Settings": "duplicate_policy",
	"CRM Hand Over": "reason",
	"CRM Contact Point": "value",
}
# the field by which a created record is found again
MARKER_FIELD = {
	"CRM Lead": "lead_name",
	"CRM Deal": "deal_name",
	"CRM Client": "client_name",
	"CRM Counterparty": "full_name",
	"Contact": "last_name",
	"CRM Call": "topic",
	"CRM Task": "subject",
	"CRM Order": "external_id",
	"CRM Lead Source": "source_name",
	"CRM Lost Reason": "reason",
	"CRM Client Segment": "segment_name",
	"CRM Product": "product_code",
	"CRM Pipeline": "pipeline_name",
	"CRM Sales Team": "team_name",
	"CRM Hand Over": "reason",
	"CRM Contact Point": "value",
}


def expected(user_key: str, doctype: str, right: str) -> bool:
	"""What the product promises: the role's right and, for row-level doctypes, sight of the record."""
	if right not in RIGHTS[doctype][ROLE_OF[user_key]]:
		return False
	if right == "c" or doctype not in ROW_LEVEL:
		return True
	return user_key in SEES_SALES1


_counter = itertools.count(1)


def marker(prefix: str = "Матрица") -> str:
	return f"{prefix} {frappe.generate_hash(length=6)} {next(_counter)}"


class SalesOrgRecordsTestCase(SalesOrgRestTestCase):
	"""The organisation's users and teams, one record of every kind for sales1 and for sales3, and one
	configuration record of every kind; all committed, as REST requests run in their own connection."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.mine = sales_org.make_records(email("sales1"))
		cls.team_b = sales_org.make_records(email("sales3"))
		cls.setup_records = cls.make_setup_records()
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		frappe.db.rollback()
		frappe.set_user("Administrator")
		sales_org.delete_records(cls.mine)
		sales_org.delete_records(cls.team_b)
		for doctype, name in cls.setup_records.items():
			if doctype != SINGLE and frappe.db.exists(doctype, name):
				frappe.delete_doc(doctype, name, force=True, ignore_permissions=True)
		frappe.db.commit()
		super().tearDownClass()

	@classmethod
	def make_setup_records(cls) -> dict[str, str]:
		lead = cls.mine["CRM Lead"]
		return {
			"CRM Lead Source": make_setup_record("CRM Lead Source"),
			"CRM Lost Reason": make_setup_record("CRM Lost Reason"),
			"CRM Client Segment": make_setup_record("CRM Client Segment"),
			"CRM Product": make_setup_record("CRM Product"),
			"CRM Pipeline": make_setup_record("CRM Pipeline"),
			"CRM Sales Team": make_setup_record("CRM Sales Team"),
			"CRM Hand Over": make_setup_record("CRM Hand Over"),
			"CRM Contact Point": frappe.db.get_value(
				"CRM Contact Point", {"reference_doctype": "CRM Lead", "reference_name": lead}
			),
			SINGLE: SINGLE,
		}

	def target(self, doctype: str) -> str:
		return self.mine.get(doctype) or self.setup_records[doctype]

	def as_user(self, key: str) -> str:
		return email(key)


def make_setup_record(doctype: str) -> str:
	"""A configuration record nobody else uses, inserted as Administrator."""
	values = create_values(doctype, marker("Настройка"))
	if doctype == "CRM Hand Over":
		return frappe.get_doc(values).insert(ignore_permissions=True).name
	return frappe.get_doc(values).insert().name


def create_values(doctype: str, mark: str) -> dict:
	"""A valid new record of `doctype` whose MARKER_FIELD is `mark`."""
	from simple_crm.utils import identifiers

	values = {"doctype": doctype, MARKER_FIELD.get(doctype, "name"): mark}
	if doctype == "CRM Lead":
		values["phone"] = factories.unique_mobile()
	elif doctype == "CRM Client":
		values["client_type"] = "Organisation"
	elif doctype == "CRM Counterparty":
		inn = identifiers.make_inn(factories._rng, "organisation")
		values.update(
			counterparty_type="Legal Entity",
			inn=inn,
			kpp=identifiers.make_kpp(factories._rng, inn),
			ogrn=identifiers.make_ogrn(factories._rng),
		)
	elif doctype == "Contact":
		values["first_name"] = "Матрица"
	elif doctype == "CRM Call":
		values.update(
			phone=factories.unique_mobile(),
			direction="Outbound",
			call_status="Answered",
			started_at=str(now_datetime()),
		)
	elif doctype == "CRM Order":
		values["amount"] = 100
	elif doctype == "CRM Lead Source":
		values["channel"] = "Other"
	elif doctype == "CRM Product":
		values["product_name"] = mark
	elif doctype == "CRM Pipeline":
		values["stages"] = [
			{"stage_name": name, "stage_type": stage_type, "probability": probability}
			for name, stage_type, probability in factories.TEST_STAGES
		]
	elif doctype == "CRM Sales Team":
		# led by team B's head and without members: it changes nobody's sight
		values["head"] = email("head_b")
	elif doctype == "CRM Hand Over":
		values.update(from_user=email("sales2"), to_user=email("sales1"), handed_over_on=str(now_datetime()))
	elif doctype == "CRM Contact Point":
		values.update(kind="Phone", reference_doctype="CRM Lead")
	return values


def throwaway(doctype: str, records: dict[str, str]) -> str:
	"""A new committed record to delete: for row-level doctypes one of sales1's."""
	owner = email("sales1")
	if doctype == "CRM Lead":
		name = factories.make_lead(responsible=owner).name
	elif doctype == "CRM Deal":
		name = factories.make_deal(responsible=owner).name
	elif doctype == "CRM Client":
		name = factories.make_client(responsible=owner).name
	elif doctype == "CRM Counterparty":
		name = factories.make_counterparty(records["CRM Client"]).name
	elif doctype == "Contact":
		name = factories.make_contact(records["CRM Client"]).name
	elif doctype == "CRM Call":
		name = factories.make_call(manager=owner).name
	elif doctype == "CRM Task":
		name = factories.make_task(assigned_to=owner).name
	elif doctype == "CRM Order":
		name = factories.make_order(client=records["CRM Client"]).name
	elif doctype == "CRM Contact Point":
		# maintained by the system: nobody of the CRM roles may delete one, so the lead's own will do
		return frappe.db.get_value(
			"CRM Contact Point", {"reference_doctype": "CRM Lead", "reference_name": records["CRM Lead"]}
		)
	else:
		name = make_setup_record(doctype)
	frappe.db.commit()
	return name


def exists(doctype: str, filters) -> bool:
	frappe.db.rollback()
	return bool(frappe.db.exists(doctype, filters))


def mentions(response, text: str) -> bool:
	"""Whether `text` is anywhere in the response (JSON escapes non-ASCII, so compare decoded data)."""
	return text in response.text or text in json.dumps(response.json, ensure_ascii=False)


def new_value(doctype: str, current):
	field = UPDATE_FIELD[doctype]
	if field == "disabled":
		return 0 if current else 1
	if field == "duplicate_policy":
		return "Warn" if current == "Block" else "Block"
	return marker("Правка")


def stored(doctype: str, name: str, field: str, fresh: bool = True):
	if fresh:
		frappe.db.rollback()  # end the test's transaction: what REST requests committed becomes visible
	if doctype == SINGLE:
		return frappe.db.get_single_value(doctype, field, cache=False)
	return frappe.db.get_value(doctype, name, field)


class TestPermissionMatrix(SalesOrgRecordsTestCase):
	def tearDown(self):
		frappe.db.rollback()
		frappe.set_user("Administrator")
		frappe.db.set_single_value(SINGLE, "duplicate_policy", "Warn")
		frappe.db.commit()
		super().tearDown()

	def cells_of(self, right: str) -> list[tuple[str, str, bool]]:
		cells = [
			(doctype, key, expected(key, doctype, right))
			for doctype in RIGHTS
			if not (right in "cd" and doctype == SINGLE)
			for key in ROLE_OF
		]
		# a matrix that only ever allows (or only ever refuses) would prove nothing
		self.assertEqual({allowed for _dt, _key, allowed in cells}, {True, False})
		return cells

	# --- ORM --------------------------------------------------------------------------------------

	def test_orm_read(self):
		for doctype, key, allowed in self.cells_of("r"):
			name = self.target(doctype)
			with self.subTest(doctype=doctype, user=key, allowed=allowed):
				frappe.set_user(self.as_user(key))
				self.assertEqual(frappe.has_permission(doctype, "read", doc=name), allowed)
				doc = frappe.get_doc(doctype, name)
				if allowed:
					doc.check_permission("read")
				else:
					self.assertRaises(frappe.PermissionError, doc.check_permission, "read")
				if doctype == SINGLE:
					continue
				if "r" in RIGHTS[doctype][ROLE_OF[key]]:
					found = frappe.get_list(doctype, filters={"name": name}, pluck="name")
					self.assertEqual(found, [name] if allowed else [])
				else:
					self.assertRaises(
						frappe.PermissionError, frappe.get_list, doctype, filters={"name": name}
					)
				frappe.set_user("Administrator")

	def test_orm_write(self):
		for doctype, key, allowed in self.cells_of("w"):
			name = self.target(doctype)
			field = UPDATE_FIELD[doctype]
			with self.subTest(doctype=doctype, user=key, allowed=allowed):
				before = stored(doctype, name, field)
				frappe.set_user(self.as_user(key))
				doc = frappe.get_doc(doctype, name)
				value = new_value(doctype, before)
				doc.set(field, value)
				if allowed:
					doc.save()
					self.assertEqual(stored(doctype, name, field, fresh=False), value)
				else:
					self.assertRaises(frappe.PermissionError, doc.save)
					self.assertEqual(stored(doctype, name, field, fresh=False), before)
				frappe.db.rollback()
				frappe.set_user("Administrator")

	def test_orm_create(self):
		for doctype, key, allowed in self.cells_of("c"):
			mark = marker()
			with self.subTest(doctype=doctype, user=key, allowed=allowed):
				frappe.set_user(self.as_user(key))
				doc = frappe.get_doc(self.create_values(doctype, mark))
				if allowed:
					doc.insert()
					# what one creates one sees
					frappe.get_doc(doctype, doc.name).check_permission("read")
				else:
					self.assertRaises(frappe.PermissionError, doc.insert)
					self.assertFalse(frappe.db.exists(doctype, {MARKER_FIELD[doctype]: mark}))
				frappe.db.rollback()
				frappe.set_user("Administrator")

	def test_orm_delete(self):
		for doctype, key, allowed in self.cells_of("d"):
			name = throwaway(doctype, self.mine)
			if doctype != "CRM Contact Point":
				self.track(doctype, name)
			with self.subTest(doctype=doctype, user=key, allowed=allowed):
				frappe.set_user(self.as_user(key))
				if allowed:
					frappe.delete_doc(doctype, name)
					self.assertFalse(frappe.db.exists(doctype, name))
				else:
					self.assertRaises(frappe.PermissionError, frappe.delete_doc, doctype, name)
					self.assertTrue(frappe.db.exists(doctype, name))
				frappe.db.rollback()
				frappe.set_user("Administrator")

	# --- REST -------------------------------------------------------------------------------------

	def test_rest_read(self):
		for doctype, key, allowed in self.cells_of("r"):
			name = self.target(doctype)
			with self.subTest(doctype=doctype, user=key, allowed=allowed):
				r = self.rest_get(doctype, name, user=self.as_user(key))
				if allowed:
					self.assertEqual(r.status_code, 200, r.text[:300])
					self.assertEqual(r.data["name"], name)
				else:
					self.assertEqual(r.status_code, 403, r.text[:300])
					self.assertIsNone(r.json.get("data"))
				if doctype == SINGLE:
					continue
				listed = self.rest_list(
					doctype, user=self.as_user(key), filters=[["name", "=", name]], fields=["name"]
				)
				if "r" in RIGHTS[doctype][ROLE_OF[key]]:
					self.assertEqual(listed.status_code, 200, listed.text[:300])
					self.assertEqual([row["name"] for row in listed.data], [name] if allowed else [])
				else:
					self.assertEqual(listed.status_code, 403, listed.text[:300])

	def test_rest_write(self):
		for doctype, key, allowed in self.cells_of("w"):
			name = self.target(doctype)
			field = UPDATE_FIELD[doctype]
			with self.subTest(doctype=doctype, user=key, allowed=allowed):
				before = stored(doctype, name, field)
				value = new_value(doctype, before)
				r = self.rest_update(doctype, name, {field: value}, user=self.as_user(key))
				if allowed:
					self.assertEqual(r.status_code, 200, r.text[:300])
					self.assertEqual(stored(doctype, name, field), value)
				else:
					self.assertEqual(r.status_code, 403, r.text[:300])
					self.assertEqual(stored(doctype, name, field), before)

	def test_rest_create(self):
		for doctype, key, allowed in self.cells_of("c"):
			mark = marker()
			with self.subTest(doctype=doctype, user=key, allowed=allowed):
				values = self.create_values(doctype, mark)
				r = self.rest_insert(doctype, values, user=self.as_user(key))
				if allowed:
					self.assertEqual(r.status_code, 200, r.text[:300])
					self.assertEqual(r.data[MARKER_FIELD[doctype]], mark)
					# what one creates one can open
					self.assertEqual(
						self.rest_get(doctype, r.data["name"], user=self.as_user(key)).status_code, 200
					)
				else:
					self.assertEqual(r.status_code, 403, r.text[:300])
					self.assertFalse(exists(doctype, {MARKER_FIELD[doctype]: mark}))

	def test_rest_delete(self):
		for doctype, key, allowed in self.cells_of("d"):
			name = throwaway(doctype, self.mine)
			if doctype != "CRM Contact Point":
				self.track(doctype, name)
			with self.subTest(doctype=doctype, user=key, allowed=allowed):
				r = self.rest_delete(doctype, name, user=self.as_user(key))
				if allowed:
					self.assertIn(r.status_code, (200, 202), r.text[:300])
					self.assertFalse(exists(doctype, name))
				else:
					self.assertEqual(r.status_code, 403, r.text[:300])
					self.assertTrue(exists(doctype, name))

	def create_values(self, doctype: str, mark: str) -> dict:
		# nothing linked: creating is a matter of the role alone (links are TestLinks' subject)
		values = create_values(doctype, mark)
		if doctype == "CRM Contact Point":
			values["reference_name"] = self.mine["CRM Lead"]
		return values


class TestRowLevelVisibility(SalesOrgRecordsTestCase):
	"""Who sees whose records, and every way a sales manager might reach a colleague's deal."""

	def visible(self, key: str, doctype: str, name: str) -> bool:
		frappe.set_user(self.as_user(key))
		try:
			listed = frappe.get_list(doctype, filters={"name": name}, pluck="name") == [name]
			single = frappe.has_permission(doctype, "read", doc=name)
			self.assertEqual(listed, single, f"list and record disagree for {key} on {doctype} {name}")
			return listed
		finally:
			frappe.set_user("Administrator")

	def test_team_visibility(self):
		for doctype in ROW_LEVEL:
			for key in ROLE_OF:
				with self.subTest(doctype=doctype, user=key):
					self.assertEqual(self.visible(key, doctype, self.mine[doctype]), key in SEES_SALES1)
					self.assertEqual(
						self.visible(key, doctype, self.team_b[doctype]),
						key in {"sales3", "head_b", "director", "crm_admin"},
					)

	def test_co_manager_sees_the_deal_and_its_client(self):
		deal = frappe.get_doc("CRM Deal", self.mine["CRM Deal"])
		self.assertFalse(self.visible("sales2", "CRM Deal", deal.name))
		deal.append("co_managers", {"user": email("sales2")})
		deal.save()
		self.assertTrue(self.visible("sales2", "CRM Deal", deal.name))
		self.assertTrue(self.visible("sales2", "CRM Client", deal.client))
		self.assertTrue(self.visible("sales2", "CRM Order", self.mine["CRM Order"]))
		# the rest of sales1's work stays theirs
		self.assertFalse(self.visible("sales2", "CRM Lead", self.mine["CRM Lead"]))
		self.assertFalse(self.visible("sales2", "CRM Task", self.mine["CRM Task"]))

	def test_assignment_shows_the_record(self):
		from frappe.desk.form.assign_to import add as assign

		lead = self.mine["CRM Lead"]
		self.assertFalse(self.visible("sales3", "CRM Lead", lead))
		assign({"doctype": "CRM Lead", "name": lead, "assign_to": [email("sales3")]})
		self.assertTrue(self.visible("sales3", "CRM Lead", lead))
		self.assertFalse(self.visible("sales2", "CRM Lead", lead))

	def test_unassigned_leads_are_for_heads_to_distribute(self):
		lead = factories.make_lead().name
		self.assertFalse(frappe.db.get_value("CRM Lead", lead, "responsible"))
		for key in ROLE_OF:
			with self.subTest(user=key):
				self.assertEqual(self.visible(key, "CRM Lead", lead), ROLE_OF[key] != SALES)

	def test_records_a_sales_manager_creates_stay_theirs(self):
		frappe.set_user(email("sales2"))
		lead = frappe.get_doc(create_values("CRM Lead", marker())).insert()
		client = frappe.get_doc(create_values("CRM Client", marker())).insert()
		self.assertEqual(lead.responsible, email("sales2"))
		self.assertEqual(client.responsible, email("sales2"))
		frappe.set_user("Administrator")
		self.assertTrue(self.visible("sales2", "CRM Lead", lead.name))
		self.assertTrue(self.visible("sales2", "CRM Client", client.name))
		# a lead arriving without anyone (web form, import by an administrator) waits for distribution
		frappe.set_user(email("crm_admin"))
		unassigned = frappe.get_doc(create_values("CRM Lead", marker())).insert()
		self.assertFalse(unassigned.responsible)

	def test_disabled_team_gives_its_head_nothing(self):
		frappe.db.set_value("CRM Sales Team", "Process Test Team A", "disabled", 1)
		self.assertFalse(self.visible("head_a", "CRM Deal", self.mine["CRM Deal"]))
		frappe.db.set_value("CRM Sales Team", "Process Test Team A", "disabled", 0)
		self.assertTrue(self.visible("head_a", "CRM Deal", self.mine["CRM Deal"]))


class TestColleaguesDeal(SalesOrgRecordsTestCase):
	"""sales2 (same team as sales1) tries every door to sales1's deal; sales1 is the control."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		deal = frappe.get_doc("CRM Deal", cls.mine["CRM Deal"])
		deal.deal_name = f"Секретная сделка {frappe.generate_hash(length=8)}"
		deal.append("items", {"item_name": "Секретный товар", "qty": 1, "rate": 1000})
		deal.save()
		cls.deal = deal.name
		cls.deal_name = deal.deal_name
		frappe.db.commit()

	def test_by_name(self):
		self.assertEqual(self.rest_get("CRM Deal", self.deal, user=email("sales1")).status_code, 200)
		r = self.rest_get("CRM Deal", self.deal, user=email("sales2"))
		self.assertEqual(r.status_code, 403)
		self.assertFalse(mentions(r, self.deal_name))
		# the Desk's form loader
		r = self.request(
			"GET",
			f"/api/method/frappe.desk.form.load.getdoc?doctype=CRM Deal&name={self.deal}",
			email("sales2"),
		)
		self.assertEqual(r.status_code, 403)
		self.assertFalse(mentions(r, self.deal_name))
		frappe.set_user(email("sales2"))
		self.assertRaises(
			frappe.PermissionError, frappe.get_doc("CRM Deal", self.deal).check_permission, "read"
		)

	def test_in_lists(self):
		for key, seen in (("sales1", True), ("sales2", False)):
			with self.subTest(user=key):
				r = self.rest_list(
					"CRM Deal", user=email(key), fields=["name", "deal_name"], limit_page_length=0
				)
				self.assertEqual(r.status_code, 200)
				self.assertEqual(self.deal in [row["name"] for row in r.data], seen)
				r = self.rest_call(
					"frappe.client.get_list",
					{"doctype": "CRM Deal", "fields": ["name"], "filters": {"deal_name": self.deal_name}},
					user=email(key),
				)
				self.assertEqual([row["name"] for row in r.data], [self.deal] if seen else [])
				r = self.rest_call(
					"frappe.client.get_count",
					{"doctype": "CRM Deal", "filters": {"name": self.deal}},
					user=email(key),
				)
				self.assertEqual(r.data, 1 if seen else 0)
		r = self.rest_call(
			"frappe.client.get_value",
			{"doctype": "CRM Deal", "filters": {"name": self.deal}, "fieldname": "deal_name"},
			user=email("sales2"),
		)
		self.assertFalse(mentions(r, self.deal_name))

	def test_in_link_search(self):
		for key, seen in (("sales1", True), ("sales2", False)):
			for extra in ({}, {"ignore_user_permissions": 1}):
				with self.subTest(user=key, **extra):
					r = self.rest_call(
						"frappe.desk.search.search_link",
						{"doctype": "CRM Deal", "txt": self.deal_name, **extra},
						user=email(key),
					)
					self.assertEqual(r.status_code, 200, r.text[:300])
					self.assertEqual(self.deal in [row["value"] for row in r.data], seen)

	def test_in_report_builder_and_export(self):
		for key, seen in (("sales1", True), ("sales2", False)):
			with self.subTest(user=key):
				r = self.rest_call(
					"frappe.desk.reportview.get",
					{
						"doctype": "CRM Deal",
						"fields": json.dumps(["`tabCRM Deal`.`name`", "`tabCRM Deal`.`deal_name`"]),
					},
					user=email(key),
				)
				self.assertEqual(r.status_code, 200, r.text[:300])
				self.assertEqual(mentions(r, self.deal_name), seen)
				# the deal's items as Report Builder shows them (child table columns)
				r = self.rest_call(
					"frappe.desk.reportview.get",
					{
						"doctype": "CRM Deal Item",
						"parent_doctype": "CRM Deal",
						"fields": json.dumps(
							["`tabCRM Deal Item`.`parent`", "`tabCRM Deal Item`.`item_name`"]
						),
					},
					user=email(key),
				)
				self.assertEqual(r.status_code, 200, r.text[:300])
				self.assertEqual(mentions(r, self.deal), seen)
		# a head of another team exports (sales managers may not export at all)
		export = {
			"doctype": "CRM Deal",
			"file_format_type": "CSV",
			"fields": json.dumps(["`tabCRM Deal`.`name`", "`tabCRM Deal`.`deal_name`"]),
		}
		r = self.request("POST", "/api/method/frappe.desk.reportview.export_query", email("sales2"), export)
		self.assertEqual(r.status_code, 403)
		for key, seen in (("head_a", True), ("head_b", False)):
			with self.subTest(export=key):
				r = self.request(
					"POST", "/api/method/frappe.desk.reportview.export_query", email(key), export
				)
				self.assertEqual(r.status_code, 200, r.text[:300])
				self.assertEqual(mentions(r, self.deal_name), seen)

	def test_child_rows(self):
		for key, seen in (("sales1", True), ("sales2", False)):
			with self.subTest(user=key):
				r = self.rest_list(
					"CRM Deal Item",
					user=email(key),
					parent="CRM Deal",
					fields=["parent", "item_name"],
					limit_page_length=0,
				)
				self.assertEqual(r.status_code, 200, r.text[:300])
				self.assertEqual(self.deal in [row["parent"] for row in r.data], seen)

	def test_in_global_search(self):
		sync_global_search()
		frappe.db.commit()
		for key, seen in (("sales1", True), ("head_a", True), ("sales2", False), ("head_b", False)):
			with self.subTest(user=key):
				r = self.rest_call(
					"frappe.utils.global_search.search",
					{"text": self.deal_name, "limit": 20},
					user=email(key),
				)
				self.assertEqual(r.status_code, 200, r.text[:300])
				self.assertEqual(self.deal in [row["name"] for row in r.data], seen)
				self.assertEqual(mentions(r, self.deal_name), seen)

	def test_cannot_change_or_delete_it(self):
		r = self.rest_update("CRM Deal", self.deal, {"deal_name": "Моя сделка"}, user=email("sales2"))
		self.assertEqual(r.status_code, 403)
		r = self.rest_delete("CRM Deal", self.deal, user=email("head_b"))
		self.assertEqual(r.status_code, 403)
		self.assertEqual(stored("CRM Deal", self.deal, "deal_name"), self.deal_name)
		# nor attach itself to it as a co-manager, nor reach it through a task
		r = self.rest_insert(
			"CRM Task",
			{"subject": "Подсмотреть", "reference_doctype": "CRM Deal", "reference_name": self.deal},
			user=email("sales2"),
		)
		self.assertNotEqual(r.status_code, 200, r.text[:300])


class TestFinancialFields(SalesOrgRecordsTestCase):
	"""Turnover and debt come from accounting: sales people read them and cannot change them."""

	def setUp(self):
		super().setUp()
		frappe.db.set_value("CRM Client", self.mine["CRM Client"], {"turnover": 500000, "debt": 1200})
		frappe.db.set_value(
			"CRM Counterparty", self.mine["CRM Counterparty"], {"turnover": 700000, "debt": 300}
		)
		frappe.db.commit()

	def test_sales_manager_reads_but_cannot_write(self):
		for doctype in ("CRM Client", "CRM Counterparty"):
			name = self.mine[doctype]
			for key in ("sales1", "head_a"):
				with self.subTest(doctype=doctype, user=key):
					r = self.rest_get(doctype, name, user=email(key))
					self.assertEqual(r.status_code, 200)
					self.assertEqual(r.data["debt"], stored(doctype, name, "debt"))
					r = self.rest_update(doctype, name, {"debt": 0, "turnover": 1}, user=email(key))
					self.assertEqual(r.status_code, 403, r.text[:300])
					self.assertIn("accounting", r.error_text())
					self.assertNotEqual(stored(doctype, name, "turnover"), 1)
					# the rest of the record is theirs to edit
					r = self.rest_update(doctype, name, {UPDATE_FIELD[doctype]: marker()}, user=email(key))
					self.assertEqual(r.status_code, 200, r.text[:300])

	def test_sales_manager_cannot_create_with_them(self):
		mark = marker()
		r = self.rest_insert(
			"CRM Client", {**create_values("CRM Client", mark), "debt": 100}, user=email("sales1")
		)
		self.assertEqual(r.status_code, 403, r.text[:300])
		self.assertFalse(exists("CRM Client", {"client_name": mark}))

	def test_crm_administrator_writes_them(self):
		name = self.mine["CRM Client"]
		r = self.rest_update("CRM Client", name, {"debt": 99}, user=email("crm_admin"))
		self.assertEqual(r.status_code, 200, r.text[:300])
		self.assertEqual(stored("CRM Client", name, "debt"), 99)

	def test_desk_form_marks_them_read_only(self):
		frappe.set_user(email("sales1"))
		doc = frappe.get_doc("CRM Client", self.mine["CRM Client"])
		self.assertNotIn(1, doc.get_permlevel_access("write"))
		self.assertIn(1, doc.get_permlevel_access("read"))


class TestLinks(SalesOrgRecordsTestCase):
	"""A record may point only at records its author can see."""

	def test_cannot_hang_work_on_a_colleagues_records(self):
		client, deal = self.mine["CRM Client"], self.mine["CRM Deal"]
		attempts = {
			"CRM Task": {"subject": marker(), "reference_doctype": "CRM Deal", "reference_name": deal},
			"CRM Call": {**create_values("CRM Call", marker()), "deal": deal},
			"CRM Counterparty": {**create_values("CRM Counterparty", marker()), "client": client},
			"Contact": {
				**create_values("Contact", marker()),
				"links": [{"link_doctype": "CRM Client", "link_name": client}],
			},
			"CRM Deal": {"deal_name": marker(), "client": client},
		}
		for doctype, values in attempts.items():
			values.pop("doctype", None)
			field = MARKER_FIELD[doctype]
			for key, allowed in (("sales2", False), ("head_b", False), ("sales1", True), ("head_a", True)):
				with self.subTest(doctype=doctype, user=key):
					mark = marker()
					r = self.rest_insert(doctype, {**values, field: mark}, user=email(key))
					if allowed:
						self.assertEqual(r.status_code, 200, r.text[:300])
					else:
						self.assertEqual(r.status_code, 403, r.text[:300])
						self.assertIn("is not one of the records you can see", r.error_text())
						self.assertTrue(client in r.error_text() or deal in r.error_text())
						self.assertFalse(exists(doctype, {field: mark}))

	def test_existing_links_do_not_block_editing(self):
		# sales3 is given a task about sales1's deal by their head; they can still work on it
		task = factories.make_task(
			assigned_to=email("sales3"), reference_doctype="CRM Deal", reference_name=self.mine["CRM Deal"]
		)
		frappe.db.commit()
		self.track("CRM Task", task.name)
		r = self.rest_update(
			"CRM Task", task.name, {"status": "Done", "result": "Готово"}, user=email("sales3")
		)
		self.assertEqual(r.status_code, 200, r.text[:300])
		r = self.rest_update(
			"CRM Task", task.name, {"reference_name": self.team_b["CRM Deal"]}, user=email("sales3")
		)
		self.assertEqual(r.status_code, 200, r.text[:300])
		r = self.rest_update(
			"CRM Task", task.name, {"reference_name": self.mine["CRM Deal"]}, user=email("sales3")
		)
		self.assertEqual(r.status_code, 403, r.text[:300])
		self.assertEqual(stored("CRM Task", task.name, "reference_name"), self.team_b["CRM Deal"])
