"""Row-level visibility of CRM records.

One SQL condition per doctype, built here and used twice: by `permission_query_conditions` (list
views, reports, link search, REST lists, exports) and by `has_permission` (opening, saving, deleting
one record), so a record is visible through every path or through none. These hooks can only
restrict what the role permissions (DocPerm) already allow.

- System Manager, CRM Administrator and CRM Director see everything.
- A head of sales sees the records of their team (CRM Sales Team: head + members) and their own,
  plus leads nobody is responsible for yet (to distribute them).
- Everyone else (a sales manager) sees the records they are responsible for, co-manage (deals) or are
  assigned to (Frappe assignments), and what hangs off those (counterparties and orders of their
  clients, contacts linked to their clients).
"""

import frappe

FULL_ACCESS_ROLES = frozenset({"System Manager", "CRM Administrator", "CRM Director"})
HEAD_OF_SALES = "CRM Head of Sales"
SALES_MANAGER = "CRM Sales Manager"
CRM_ROLES = frozenset({HEAD_OF_SALES, SALES_MANAGER, *FULL_ACCESS_ROLES} - {"System Manager"})


def sees_everything(user: str) -> bool:
	if user == "Administrator":
		return True
	return bool(FULL_ACCESS_ROLES.intersection(frappe.get_roles(user)))


def team_users(user: str) -> list[str]:
	"""The user plus, for a head of sales, the members of every team they lead."""
	users = {user}
	if HEAD_OF_SALES in frappe.get_roles(user):
		team = frappe.qb.DocType("CRM Sales Team")
		member = frappe.qb.DocType("CRM Sales Team Member")
		rows = (
			frappe.qb.from_(member)
			.join(team)
			.on(member.parent == team.name)
			.select(member.user)
			.where((team.head == user) & (team.disabled == 0) & (member.parenttype == "CRM Sales Team"))
			.run(pluck=True)
		)
		users.update(rows)
	return sorted(users)


def _in(users: list[str]) -> str:
	return "({})".format(", ".join(frappe.db.escape(u) for u in users))


def _assigned(table: str, user: str) -> str:
	# _assign holds a JSON list of users; the quotes make the match exact
	return "`tab{}`.`_assign` like {}".format(table, frappe.db.escape(f'%"{user}"%'))


def _visible_deals_sql(users: list[str]) -> str:
	return (
		f"select `tabCRM Deal`.name from `tabCRM Deal` where `tabCRM Deal`.responsible in {_in(users)} "
		f"union select parent from `tabCRM Deal Manager` where parenttype = 'CRM Deal' and user in {_in(users)}"
	)


def _visible_clients_sql(users: list[str]) -> str:
	return (
		f"select name from `tabCRM Client` where responsible in {_in(users)} "
		f"union select client from `tabCRM Deal` where client is not null and (responsible in {_in(users)} "
		f"or name in (select parent from `tabCRM Deal Manager` where parenttype = 'CRM Deal' and user in {_in(users)}))"
	)


def condition_for(doctype: str, user: str | None = None) -> str:
	"""SQL condition limiting `doctype` to what `user` may see ("" when unrestricted)."""
	user = user or frappe.session.user
	if sees_everything(user):
		return ""
	users = team_users(user)
	is_head = HEAD_OF_SALES in frappe.get_roles(user)
	u = _in(users)
	t = f"`tab{doctype}`"

	if doctype == "CRM Lead":
		parts = [f"{t}.responsible in {u}", _assigned(doctype, user)]
		if is_head:
			parts.append(f"ifnull({t}.responsible, '') = ''")
	elif doctype == "CRM Deal":
		parts = [f"{t}.name in ({_visible_deals_sql(users)})", _assigned(doctype, user)]
	elif doctype == "CRM Client":
		parts = [f"{t}.name in ({_visible_clients_sql(users)})", _assigned(doctype, user)]
	elif doctype == "CRM Counterparty":
		parts = [f"{t}.client in ({_visible_clients_sql(users)})", f"{t}.owner in {u}"]
	elif doctype == "CRM Order":
		parts = [
			f"{t}.client in ({_visible_clients_sql(users)})",
			f"{t}.deal in ({_visible_deals_sql(users)})",
		]
	elif doctype == "CRM Task":
		parts = [f"{t}.assigned_to in {u}", f"{t}.author in {u}", _assigned(doctype, user)]
	elif doctype == "CRM Call":
		parts = [f"{t}.manager in {u}", _assigned(doctype, user)]
	elif doctype == "Contact":
		if not CRM_ROLES.intersection(frappe.get_roles(user)):
			return ""  # Contact belongs to Frappe: only CRM users are narrowed
		parts = [
			f"{t}.crm_responsible in {u}",
			f"{t}.owner in {u}",
			(
				f"{t}.name in (select parent from `tabDynamic Link` where parenttype = 'Contact' "
				f"and link_doctype = 'CRM Client' and link_name in ({_visible_clients_sql(users)}))"
			),
		]
	else:
		return ""
	return "({})".format(" or ".join(parts))


def has_permission(doc, ptype: str | None = None, user: str | None = None) -> bool | None:
	"""The same condition, checked for one stored record; None leaves the decision to Frappe."""
	user = user or frappe.session.user
	if not doc.get("name") or doc.is_new():
		return None
	condition = condition_for(doc.doctype, user)
	if not condition:
		return None
	if not frappe.db.exists(doc.doctype, doc.name):
		return None
	rows = frappe.db.sql(
		f"select `tab{doc.doctype}`.name from `tab{doc.doctype}` where `tab{doc.doctype}`.name = %s and {condition}",
		doc.name,
	)
	return bool(rows)


# hooks.py wires these per doctype
def lead_query(user=None):
	return condition_for("CRM Lead", user)


def deal_query(user=None):
	return condition_for("CRM Deal", user)


def client_query(user=None):
	return condition_for("CRM Client", user)


def counterparty_query(user=None):
	return condition_for("CRM Counterparty", user)


def order_query(user=None):
	return condition_for("CRM Order", user)


def task_query(user=None):
	return condition_for("CRM Task", user)


def call_query(user=None):
	return condition_for("CRM Call", user)


def contact_query(user=None):
	return condition_for("Contact", user)
