"""The adversarial suite: a hostile sales manager and a hostile head of another team, over REST with their
own API credentials, against every whitelisted method of Frappe and of the app that takes a doctype, a
record, fields, filters or an order, and against `/api/resource` for the CRM's doctypes, their child tables
and the Frappe doctypes that describe CRM records.

- sales1 (sales manager, team A) attacks sales3's records (team B); head_b (head of team B) attacks
  sales2's (team A). Every record carries its owner's marker in all its texts and amounts no other
  record has (simple_crm/tests/security/world.py); no response may contain a marker, an amount, or the
  name of a record (or of a File, Comment, ToDo... describing one) the attacker cannot see, unless the
  request carried that name itself.
- No write reaches a foreign record: the records, their child rows and the rows pointing at them are
  compared before and after (`world.snapshot`).
- Crafted fields, filters, orders and groups (sub-queries, `sleep`, `extractvalue`) are refused with a
  4xx or answered without foreign values, quickly.
- `test_coverage_is_complete`: the covered methods are exactly those a hostile user can aim at a record
  (simple_crm/tests/security/attacks.py): a new whitelisted method fails the suite until it is covered.
- A sales manager's view through every list path equals `frappe.get_list` as her.

A failure lists every case that failed, by method and call, with what leaked or changed.
"""

import json
import time
from urllib.parse import quote, unquote, urlencode

import frappe
from frappe.tests.test_api import make_request

from simple_crm.tests.sales_org import SalesOrgRestTestCase, email
from simple_crm.tests.security import attacks, world
from simple_crm.tests.security.attacks import QUICK_SECONDS, TITLE, Attack, NotApplicable
from simple_crm.tests.security.world import CHILD_TABLES, DESCRIBING, ROW_LEVEL

# attacker -> (owner of the records attacked, owners of every record the attacker may not see, own records)
ATTACKERS = {
	"sales1": ("sales3", ("sales2", "sales3"), "sales1"),
	"head_b": ("sales2", ("sales1", "sales2"), "sales3"),
}
DESCRIBING_DOCTYPES = (
	"ToDo",
	"Comment",
	"Version",
	"File",
	"Communication",
	"Workflow Action",
	"Tag Link",
	"Activity Log",
	"Document Follow",
	"Notification Log",
	"DocShare",
	"Tag",
	"Discussion Topic",
	"Discussion Reply",
	"Auto Repeat",
)


class RawResponse:
	"""A response of any content type: PDFs, spreadsheets and files are searched as Latin-1 text."""

	def __init__(self, response):
		self.status_code = response.status_code
		body = response.get_data()
		try:
			self.text = body.decode()
		except UnicodeDecodeError:
			self.text = body.decode("latin-1")
		try:
			self.json = json.loads(self.text) if self.text else {}
		except ValueError:
			self.json = {}
		if not isinstance(self.json, dict):
			self.json = {"data": self.json}

	@property
	def data(self):
		return self.json.get("data", self.json.get("message"))


class HostileCase:
	"""One attacker against one owner's records: fills call templates, sends them, judges responses."""

	def __init__(self, test, attacker: str, target, own, secrets: set[str]):
		self.test = test
		self.attacker = attacker
		self.me = email(attacker)
		self.target = target  # world.OwnerRecords attacked
		self.own = own  # world.OwnerRecords the attacker may see
		self.secrets = secrets
		self.names: set[str] = set()  # names of the foreign records (not of rows describing them)
		self.failures: list[str] = []

	# --- templates
	def fill(self, template, doctype: str):
		if isinstance(template, dict):
			return {self.fill(k, doctype): self.fill(v, doctype) for k, v in template.items()}
		if isinstance(template, list | tuple):
			return [self.fill(v, doctype) for v in template]
		if not isinstance(template, str) or "{" not in template:
			return template
		return self._fill_text(template, doctype)

	def _fill_text(self, text: str, doctype: str) -> str:
		import re

		def value(match):
			key, arg = match.group(1), match.group(2)
			if key == "dt":
				return doctype
			if key == "dn":
				return self.target.names[arg or doctype]
			if key == "own":
				return self.own.names[arg or doctype]
			if key == "title":
				return TITLE.get(arg or doctype, "name")
			if key in ("rel", "ownrel"):
				related = (self.target if key == "rel" else self.own).related
				return related.get((arg, doctype)) or next(n for (dt, _r), n in related.items() if dt == arg)
			if key == "owner":
				return self.target.owner
			if key == "me":
				return self.me
			if key == "tag":
				return self.target.tag
			if key == "modified":
				return str(frappe.db.get_value(doctype, self.target.names[doctype], "modified"))
			if key in ("phone", "email"):
				# the phone as the records store it normalised: the answer may repeat what was sent
				column = {"phone": "phone_normalized", "email": "email"}[key]
				if doctype == "Contact":
					column = {"phone": "phone", "email": "email_id"}[key]
				if not frappe.get_meta(doctype).has_field(column):
					return ""
				return frappe.db.get_value(doctype, self.target.names[doctype], column) or ""
			return match.group(0)

		return re.sub(
			r"\{(dt|dn|own|title|rel|ownrel|owner|me|tag|modified|phone|email)(?::([^{}]+))?\}", value, text
		)

	# --- requests
	def call(self, path: str, http: str, args: dict):
		if http == "GET":
			query = {k: v if isinstance(v, str) else json.dumps(v) for k, v in args.items()}
			url = f"/api/method/{path}?{urlencode(query)}"
			started = time.monotonic()
			r = self.test.request("GET", url, self.attacker_user)
			return r, time.monotonic() - started, f"{unquote(url)} {json.dumps(args, ensure_ascii=False)}"
		started = time.monotonic()
		r = self.test.request("POST", f"/api/method/{path}", self.attacker_user, args)
		return r, time.monotonic() - started, f"/api/method/{path} {json.dumps(args, ensure_ascii=False)}"

	@property
	def attacker_user(self) -> str:
		return self.me

	def judge(self, label: str, r, elapsed: float, sent: str, expect: str = "", discloses=()) -> None:
		"""Record every way the response fails: a leak, a slow answer to a sleep, the expected refusal."""
		secrets = self.secrets
		if "names" in discloses:
			secrets = secrets - self.names
		leaked = world.leaks(r.text, secrets, sent)
		if leaked:
			self.failures.append(f"{label}: HTTP {r.status_code}, leaked {leaked[:6]}")
		if "sleep(" in sent and elapsed >= QUICK_SECONDS and not 400 <= r.status_code < 500:
			self.failures.append(f"{label}: a sleep() ran ({elapsed:.1f}s, HTTP {r.status_code})")
		if expect == "refused" and not 400 <= r.status_code < 500:
			self.failures.append(f"{label}: expected a refusal (4xx), got HTTP {r.status_code}")
		if expect.startswith("falsy") and r.status_code == 200:
			data = r.json.get("message", r.json.get("data"))
			if expect == "falsy_permission" and isinstance(data, dict):
				data = data.get("has_permission")
			if data:
				self.failures.append(
					f"{label}: expected nothing about a foreign record, got {str(data)[:200]}"
				)

	def run(self, path: str, attack: Attack, crafted: bool = False) -> None:
		http = attacks.http_method(path, attack)
		rounds = [(attack.doctypes or ("CRM Deal",), attack.calls)]
		if crafted and attack.crafted:
			rounds.append((attacks.CRAFTED_DOCTYPES, attack.crafted))
		for doctypes, calls in rounds:
			self.run_calls(path, http, attack, doctypes, calls)

	def run_calls(self, path, http, attack, doctypes, calls) -> None:
		for doctype in doctypes:
			for template in calls:
				try:
					args = self.fill(template, doctype)
				except (KeyError, StopIteration):
					continue  # the placeholder has no value for this doctype (e.g. no Version of a Contact)
				r, elapsed, sent = self.call(path, http, args)
				label = f"{path} as {self.attacker} [{doctype}] {json.dumps(args, ensure_ascii=False)[:220]}"
				self.judge(label, r, elapsed, sent, attack.expect, attack.discloses)


class TestHostileUser(SalesOrgRestTestCase):
	def request(self, method: str, path: str, user: str = "Administrator", data=None) -> RawResponse:
		headers = {"Authorization": self.token_for(user), "Accept": "application/json"}
		kwargs = {"headers": headers}
		if data is not None:
			kwargs["json"] = data
		target = getattr(self.client, method.lower())
		return RawResponse(make_request(target=target, args=(path,), kwargs=kwargs))

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.world = world.build_world()
		cls.extra_worlds: list = []

	@classmethod
	def tearDownClass(cls):
		world.destroy_world(cls.world)
		for extra in cls.extra_worlds:
			world.destroy_world(extra)
		super().tearDownClass()

	def hostile(self, attacker: str, target=None, own=None) -> HostileCase:
		target_key, foreign_keys, own_key = ATTACKERS[attacker]
		target = target or self.world[target_key]
		secrets = set().union(*(self.world[key].secrets() for key in foreign_keys)) | target.secrets()
		case = HostileCase(self, attacker, target, own or self.world[own_key], secrets)
		case.names = (
			set().union(*(self.world[key].record_names() for key in foreign_keys)) | target.record_names()
		)
		return case

	def fresh_records(self, owner_key: str, describe: bool = True):
		"""Throw-away records of `owner_key` for an attack that may destroy what it reaches."""
		frappe.set_user("Administrator")
		records = world.make_owner_records(owner_key, describe=describe)
		frappe.db.commit()
		self.extra_worlds.append({owner_key: records})
		return records

	def assertNoFailures(self, failures: list[str]):
		if failures:
			self.fail(f"{len(failures)} failing case(s):\n" + "\n".join(failures))

	# --- 1. the covered set is the set a hostile user can aim --------------------------------------------

	def test_coverage_is_complete(self):
		selected = attacks.selected_methods()
		covered = set(attacks.coverage())
		self.assertFalse(
			selected - covered,
			"whitelisted methods nobody attacks yet: add them to attacks.COVERAGE (an Attack or NotApplicable)",
		)
		self.assertFalse(covered - selected, "COVERAGE names methods that are gone or no longer selected")
		for path, entry in attacks.COVERAGE.items():
			with self.subTest(path=path):
				if isinstance(entry, NotApplicable):
					self.assertTrue(entry.reason.strip())
				else:
					self.assertIsInstance(entry, Attack)
					self.assertTrue(entry.calls)

	def test_the_detector_sees_what_the_owner_sees(self):
		"""The same calls as the record's owner are flagged: the markers reach the responses they should."""
		owner = HostileCase(
			self, "sales3", self.world["sales3"], self.world["sales3"], self.world["sales3"].secrets()
		)
		owner.me = email("sales3")
		for path in ("frappe.client.get", "frappe.desk.form.load.getdoc", "frappe.client.get_list"):
			attack = attacks.COVERAGE[path]
			owner.run(path, Attack(calls=attack.calls[:1], doctypes=ROW_LEVEL))
		flagged = {line.split(" as ")[0] + line.split("]")[0].split("[")[-1] for line in owner.failures}
		expected = {
			path + doctype
			for path in ("frappe.client.get", "frappe.desk.form.load.getdoc")
			for doctype in ROW_LEVEL
		}
		self.assertLessEqual(expected, flagged)

	# --- 2. every covered method, as each attacker ------------------------------------------------------

	def attack_methods(self, attacker: str, writes: bool):
		case = self.hostile(attacker)
		table = attacks.coverage()
		before = world.snapshot(case.target) if not writes else None
		for path, entry in sorted(table.items()):
			if not isinstance(entry, Attack) or entry.write != writes or entry.destructive:
				continue
			if writes:
				before = world.snapshot(case.target)
			case.run(path, entry, crafted=attacker == "sales1")
			if writes:
				changed = world.diff(before, world.snapshot(case.target))
				if changed:
					case.failures.append(f"{path} as {attacker}: wrote into a foreign record: {changed[:5]}")
		if not writes:
			changed = world.diff(before, world.snapshot(case.target))
			if changed:
				case.failures.append(f"read methods as {attacker} changed a foreign record: {changed[:5]}")
		return case.failures

	def test_read_methods_as_sales_manager(self):
		self.assertNoFailures(self.attack_methods("sales1", writes=False))

	def test_read_methods_as_head_of_other_team(self):
		self.assertNoFailures(self.attack_methods("head_b", writes=False))

	def test_write_methods_as_sales_manager(self):
		self.assertNoFailures(self.attack_methods("sales1", writes=True))

	def test_write_methods_as_head_of_other_team(self):
		self.assertNoFailures(self.attack_methods("head_b", writes=True))

	def test_destructive_methods(self):
		"""Deleting, renaming and merging, each against throw-away records of its own."""
		failures = []
		for attacker in ATTACKERS:
			target_key, _foreign, own_key = ATTACKERS[attacker]
			for path, entry in sorted(attacks.coverage().items()):
				if not (isinstance(entry, Attack) and entry.destructive):
					continue
				target = self.fresh_records(target_key)
				own = self.fresh_records(own_key)
				case = self.hostile(attacker, target=target, own=own)
				before = world.snapshot(target)
				case.run(path, entry)
				changed = world.diff(before, world.snapshot(target))
				if changed:
					case.failures.append(f"{path} as {attacker}: changed a foreign record: {changed[:5]}")
				failures += case.failures
		self.assertNoFailures(failures)

	# --- /api/resource and /api/v2/document --------------------------------------------------------------

	def resource_paths(self, case: HostileCase):
		"""(label, HTTP method, path, body) of every read and write of foreign rows over the resource APIs."""
		target = case.target
		for doctype in ROW_LEVEL:
			name = quote(target.names[doctype])
			dt = quote(doctype)
			yield doctype, "GET", f'/api/resource/{dt}?fields=["*"]&limit_page_length=0', None
			yield doctype, "GET", f"/api/resource/{dt}/{name}", None
			yield doctype, "PUT", f"/api/resource/{dt}/{name}", {TITLE[doctype]: "hacked", "_assign": "[]"}
			yield doctype, "POST", f"/api/resource/{dt}/{name}", {"run_method": "get_title"}
			yield doctype, "GET", f'/api/v2/document/{dt}?fields=["*"]&limit=100000', None
			yield doctype, "GET", f"/api/v2/document/{dt}/{name}", None
			yield doctype, "PATCH", f"/api/v2/document/{dt}/{name}", {TITLE[doctype]: "hacked"}
			yield doctype, "GET", f"/api/v2/document/{dt}/{name}/method/get_title", None
		for child, (parent, parentfield) in CHILD_TABLES.items():
			dt = quote(child)
			rows = frappe.get_all(
				child, {"parenttype": parent, "parent": target.names[parent]}, pluck="name", limit=1
			)
			yield (
				child,
				"GET",
				f'/api/resource/{dt}?fields=["*"]&limit_page_length=0&parent={quote(parent)}',
				None,
			)
			yield child, "GET", f'/api/resource/{dt}?fields=["*"]&limit_page_length=0', None
			yield (
				child,
				"GET",
				f'/api/v2/document/{dt}?fields=["*"]&limit=100000&parent={quote(parent)}',
				None,
			)
			for row in rows:
				yield child, "GET", f"/api/resource/{dt}/{quote(row)}", None
				yield child, "PUT", f"/api/resource/{dt}/{quote(row)}", {"idx": 99}
				yield child, "PATCH", f"/api/v2/document/{dt}/{quote(row)}", {"idx": 99}
			yield (
				child,
				"POST",
				f"/api/resource/{dt}",
				{"parenttype": parent, "parentfield": parentfield, "parent": target.names[parent]},
			)
		for doctype in DESCRIBING_DOCTYPES:
			dt = quote(doctype)
			yield doctype, "GET", f'/api/resource/{dt}?fields=["*"]&limit_page_length=0', None
			yield doctype, "GET", f'/api/v2/document/{dt}?fields=["*"]&limit=100000', None
			for (related_doctype, _record_doctype), name in target.related.items():
				if related_doctype == doctype:
					yield doctype, "GET", f"/api/resource/{dt}/{quote(name)}", None
					yield doctype, "PUT", f"/api/resource/{dt}/{quote(name)}", {"description": "hacked"}

	def test_resource_api(self):
		failures = []
		for attacker in ATTACKERS:
			case = self.hostile(attacker)
			before = world.snapshot(case.target)
			for label, method, path, body in self.resource_paths(case):
				started = time.monotonic()
				r = self.request(method, path, case.me, body)
				elapsed = time.monotonic() - started
				sent = f"{unquote(path)} {json.dumps(body or {}, ensure_ascii=False)}"
				case.judge(f"{method} {path} as {attacker} [{label}]", r, elapsed, sent)
			changed = world.diff(before, world.snapshot(case.target))
			if changed:
				case.failures.append(
					f"/api/resource writes as {attacker} changed a foreign record: {changed[:5]}"
				)
			failures += case.failures
		self.assertNoFailures(failures)

	def test_resource_api_delete(self):
		failures = []
		for attacker in ATTACKERS:
			target_key, _foreign, _own = ATTACKERS[attacker]
			target = self.fresh_records(target_key)
			case = self.hostile(attacker, target=target)
			before = world.snapshot(target)
			paths = []
			for doctype in DESCRIBING_DOCTYPES:
				for (related_doctype, _record), name in target.related.items():
					if related_doctype == doctype:
						paths.append(f"/api/resource/{quote(doctype)}/{quote(name)}")
			for child, (parent, _field) in CHILD_TABLES.items():
				for row in frappe.get_all(
					child, {"parenttype": parent, "parent": target.names[parent]}, pluck="name"
				):
					paths.append(f"/api/resource/{quote(child)}/{quote(row)}")
			for doctype in ROW_LEVEL:
				paths.append(f"/api/resource/{quote(doctype)}/{quote(target.names[doctype])}")
				paths.append(f"/api/v2/document/{quote(doctype)}/{quote(target.names[doctype])}")
			for path in paths:
				r = self.request("DELETE", path, case.me)
				case.judge(f"DELETE {path} as {attacker}", r, 0, unquote(path))
				if r.status_code in (200, 202):
					case.failures.append(f"DELETE {path} as {attacker}: accepted (HTTP {r.status_code})")
			changed = world.diff(before, world.snapshot(target))
			if changed:
				case.failures.append(f"DELETE as {attacker} changed a foreign record: {changed[:5]}")
			failures += case.failures
		self.assertNoFailures(failures)

	# --- 3. every list path shows what frappe.get_list shows -------------------------------------------

	def expected_names(self, user: str, doctype: str, parent: str | None = None) -> set[str] | None:
		"""What frappe.get_list gives the user (None: refused, then every path must refuse or be empty)."""
		frappe.db.rollback()
		frappe.set_user(user)
		try:
			kwargs = {"parent_doctype": parent} if parent else {}
			return set(frappe.get_list(doctype, pluck="name", limit_page_length=0, **kwargs))
		except frappe.PermissionError:
			return None
		finally:
			frappe.set_user("Administrator")

	def list_views(
		self, user: str, doctype: str, parent: str | None = None
	) -> dict[str, set[str] | int | None]:
		"""The names a user gets through each list path (None where the path failed)."""
		dt = quote(doctype)
		parent_q = f"&parent={quote(parent)}" if parent else ""
		views: dict = {}

		def names(r, key="name"):
			if r.status_code != 200 or not isinstance(r.data, list):
				return f"HTTP {r.status_code}: {r.text[:200]}"
			return {row[key] if isinstance(row, dict) else row[0] for row in r.data}

		r = self.request("GET", f"/api/resource/{dt}?limit_page_length=0{parent_q}", user)
		views["/api/resource"] = names(r)
		r = self.request("GET", f"/api/v2/document/{dt}?limit=100000{parent_q}", user)
		views["/api/v2/document"] = names(r)
		body = {"doctype": doctype, "fields": ["name"], "limit_page_length": 0}
		if parent:
			body["parent"] = parent
		views["frappe.client.get_list"] = names(self.rest_call("frappe.client.get_list", body, user))
		body = {"doctype": doctype, "fields": json.dumps([f"`tab{doctype}`.`name`"]), "page_length": 0}
		if parent:
			body["parent_doctype"] = parent
		r = self.rest_call("frappe.desk.reportview.get", body, user)
		if r.status_code == 200:
			message = r.json.get("message") or {}
			views["frappe.desk.reportview.get"] = {row[0] for row in message.get("values", [])}
		else:
			views["frappe.desk.reportview.get"] = f"HTTP {r.status_code}: {r.text[:200]}"
		counts = {}
		body = {"doctype": doctype, "filters": json.dumps([])}
		if parent:
			body["parent_doctype"] = parent
		r = self.rest_call("frappe.desk.reportview.get_count", body, user)
		counts["frappe.desk.reportview.get_count"] = (
			r.data if r.status_code == 200 else f"HTTP {r.status_code}"
		)
		if not parent:
			r = self.rest_call("frappe.client.get_count", {"doctype": doctype}, user)
			counts["frappe.client.get_count"] = r.data if r.status_code == 200 else f"HTTP {r.status_code}"
			r = self.request("GET", f"/api/v2/doctype/{dt}/count", user)
			counts["/api/v2/doctype/count"] = r.data if r.status_code == 200 else f"HTTP {r.status_code}"
		return views, counts

	def search_views(self, user: str, doctype: str) -> dict:
		views = {}
		r = self.rest_call(
			"frappe.desk.search.search_link", {"doctype": doctype, "txt": "", "page_length": 10000}, user
		)
		views["frappe.desk.search.search_link"] = (
			{row["value"] for row in r.data} if r.status_code == 200 else f"HTTP {r.status_code}"
		)
		r = self.rest_call(
			"frappe.desk.search.search_widget",
			{"doctype": doctype, "txt": "", "page_length": 10000, "as_dict": 1},
			user,
		)
		views["frappe.desk.search.search_widget"] = (
			{row["name"] for row in r.json.get("message", [])}
			if r.status_code == 200
			else f"HTTP {r.status_code}"
		)
		return views

	def test_list_paths_equal_get_list(self):
		failures = []
		world_names = set()
		for rec in self.world.values():
			world_names |= set(rec.names.values())
		for attacker in ATTACKERS:
			user = email(attacker)
			doctypes = [(dt, None) for dt in ROW_LEVEL]
			doctypes += [(child, parent) for child, (parent, _f) in CHILD_TABLES.items()]
			doctypes += [(dt, None) for dt in DESCRIBING_DOCTYPES]
			for doctype, parent in doctypes:
				expected = self.expected_names(user, doctype, parent)
				views, counts = self.list_views(user, doctype, parent)
				if expected is None:
					for path, got in {**views, **counts}.items():
						if got and not isinstance(got, str):
							failures.append(
								f"{path} as {attacker} [{doctype}]: get_list refuses, this gives {got}"
							)
					continue
				for path, got in views.items():
					if got != expected:
						failures.append(self.describe_difference(attacker, doctype, path, expected, got))
				for path, count in counts.items():
					if count != len(expected):
						failures.append(
							f"{path} as {attacker} [{doctype}]: {count} instead of {len(expected)} (frappe.get_list)"
						)
				if doctype in ROW_LEVEL:
					for path, got in self.search_views(user, doctype).items():
						if isinstance(got, str):
							failures.append(f"{path} as {attacker} [{doctype}]: {got}")
						elif got - expected or (expected & world_names) - got:
							failures.append(self.describe_difference(attacker, doctype, path, expected, got))
		self.assertNoFailures(failures)

	@staticmethod
	def describe_difference(attacker, doctype, path, expected, got) -> str:
		if isinstance(got, str):
			return f"{path} as {attacker} [{doctype}]: {got}"
		extra, missing = sorted(got - expected), sorted(expected - got)
		return f"{path} as {attacker} [{doctype}]: more than get_list {extra[:8]}, fewer {missing[:8]}"
