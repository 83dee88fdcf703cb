# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

"""Groups of leads, clients, contacts and counterparties sharing a phone, e-mail or INN.

Read from the duplicate index (CRM Contact Point): (kind, value) pairs held by more than one record,
converted leads left out. A group whose records all belong to one client (a client, its contact
person and its counterparty with the same phone) is that client's own data, not a duplicate.
"""

import frappe
from frappe import _

from simple_crm.constants import LEAD_CONVERTED
from simple_crm.duplicates import CONTACT_POINT, KINDS, TRACKED_DOCTYPES, describe_records

# Groups listed at most: the first ones by kind and value (a site with a million leads has tens of thousands
# of groups; the kind and record type filters narrow them)
MAX_GROUPS = 500


def execute(filters: dict | None = None):
	filters = frappe._dict(filters or {})
	data = get_data(filters)
	message = None
	if data and data[-1]["group"] >= MAX_GROUPS:
		message = _(
			"Showing the first {0} groups by kind and value; filter by kind or record type to see others"
		).format(MAX_GROUPS)
	return get_columns(), data, message


def get_columns() -> list[dict]:
	return [
		{"fieldname": "group", "label": _("Group"), "fieldtype": "Int", "width": 70},
		{"fieldname": "kind", "label": _("Matched On"), "fieldtype": "Data", "width": 100},
		{"fieldname": "value", "label": _("Value"), "fieldtype": "Data", "width": 200},
		# Data, not a Link to DocType: Frappe filters a report's Link columns by the user's read permission on
		# the linked doctype, and a CRM director does not read DocType
		{"fieldname": "reference_doctype", "label": _("Record Type"), "fieldtype": "Data", "width": 140},
		{
			"fieldname": "reference_name",
			"label": _("Record"),
			"fieldtype": "Dynamic Link",
			"options": "reference_doctype",
			"width": 160,
		},
		{"fieldname": "title", "label": _("Title"), "fieldtype": "Data", "width": 220},
		{
			"fieldname": "responsible",
			"label": _("Responsible"),
			"fieldtype": "Link",
			"options": "User",
			"width": 180,
		},
		{"fieldname": "records", "label": _("Records in Group"), "fieldtype": "Int", "width": 120},
	]


def get_data(filters) -> list[dict]:
	members = get_group_members(filters)
	groups: dict[tuple[str, str], list[dict]] = {}
	for row in members:
		groups.setdefault((row.kind, row.value), []).append(row)
	clients_of: dict[tuple[str, str], set[str]] = {}
	groups = {key: rows for key, rows in groups.items() if not _one_client(rows, clients_of)}
	details = describe_records(
		{(r.reference_doctype, r.reference_name) for rows in groups.values() for r in rows}
	)
	data = []
	for number, rows in enumerate(groups.values(), start=1):
		for row in rows:
			record = details[(row.reference_doctype, row.reference_name)]
			data.append(
				{
					"group": number,
					"kind": _(row.kind),
					"value": row.value,
					"reference_doctype": row.reference_doctype,
					"reference_name": row.reference_name,
					"title": record.title,
					"responsible": record.responsible,
					"records": len(rows),
				}
			)
	return data


def get_group_members(filters) -> list[dict]:
	"""Index rows of the first MAX_GROUPS (kind, value) pairs held by two or more live records.

	The pairs held twice or more are found first from the (kind, value) index alone, in its order, and the
	scan stops once enough are found; only their rows are then read with their leads, and a pair is kept
	when two of its records are live (converted leads are history, not duplicates)."""
	where, values = ["1 = 1"], {}
	if filters.get("kind"):
		if filters.kind not in KINDS:
			frappe.throw(_("Unknown kind {0}").format(filters.kind))
		where.append("`kind` = %(kind)s")
		values["kind"] = filters.kind
	having = ["count(*) > 1"]
	if filters.get("doctype"):
		if filters.doctype not in TRACKED_DOCTYPES:
			frappe.throw(_("Unknown record type {0}").format(filters.doctype))
		having.append("sum(`reference_doctype` = %(doctype)s) > 0")
		values["doctype"] = filters.doctype
	members: list[dict] = []
	offset, batch = 0, MAX_GROUPS * 2
	groups_found = 0
	while groups_found < MAX_GROUPS:
		pairs = frappe.db.sql(
			f"""select `kind`, `value` from `tab{CONTACT_POINT}` where {" and ".join(where)}
			group by `kind`, `value` having {" and ".join(having)}
			order by `kind`, `value` limit %(batch)s offset %(offset)s""",
			{**values, "batch": batch, "offset": offset},
		)
		if not pairs:
			break
		rows = live_rows(pairs)
		counts: dict[tuple, int] = {}
		for row in rows:
			counts[(row.kind, row.value)] = counts.get((row.kind, row.value), 0) + 1
		for pair in pairs:
			if counts.get(tuple(pair), 0) > 1 and groups_found < MAX_GROUPS:
				groups_found += 1
				members.extend(row for row in rows if (row.kind, row.value) == tuple(pair))
		if len(pairs) < batch:
			break
		offset += batch
	return members


def live_rows(pairs) -> list[dict]:
	"""The index rows of the pairs whose record is not a converted lead, in (kind, value, record) order."""
	return frappe.db.sql(
		f"""select `point`.`kind`, `point`.`value`, `point`.`reference_doctype`, `point`.`reference_name`
		from `tab{CONTACT_POINT}` `point`
		left join `tabCRM Lead` `lead`
			on `point`.`reference_doctype` = 'CRM Lead' and `lead`.`name` = `point`.`reference_name`
		where (`point`.`kind`, `point`.`value`) in %(pairs)s
			and (`lead`.`name` is null or `lead`.`status` != %(converted)s)
		order by `point`.`kind`, `point`.`value`, `point`.`reference_doctype`, `point`.`reference_name`""",
		{"pairs": tuple(tuple(pair) for pair in pairs), "converted": LEAD_CONVERTED},
		as_dict=True,
	)


def _one_client(rows: list[dict], clients_of: dict) -> bool:
	"""True when every record of the group belongs to the same client (`clients_of` caches)."""
	families = []
	for row in rows:
		key = (row.reference_doctype, row.reference_name)
		if key not in clients_of:
			clients_of[key] = _clients_of(*key)
		families.append(clients_of[key])
	return bool(set.intersection(*families))


def _clients_of(doctype: str, name: str) -> set[str]:
	"""The clients a record belongs to; a record of no client is a family of its own."""
	if doctype == "CRM Client":
		return {name}
	if doctype in ("CRM Counterparty", "CRM Lead"):
		client = frappe.db.get_value(doctype, name, "client")
		return {client} if client else {f"{doctype}:{name}"}
	links = frappe.get_all(
		"Dynamic Link",
		filters={
			"parenttype": "Contact",
			"parent": name,
			"link_doctype": ("in", ["CRM Client", "CRM Counterparty"]),
		},
		fields=["link_doctype", "link_name"],
	)
	clients = {l.link_name for l in links if l.link_doctype == "CRM Client"}
	for l in links:
		if l.link_doctype == "CRM Counterparty":
			client = frappe.db.get_value("CRM Counterparty", l.link_name, "client")
			if client:
				clients.add(client)
	return clients or {f"{doctype}:{name}"}
