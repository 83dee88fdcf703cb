"""A counterparty's accounting ID becomes unique (the accounting exchange upserts counterparties by it).

Before the unique index is added, every ID must be on one counterparty only: an empty ID becomes no ID, and
of the counterparties sharing one, the oldest keeps it and the others lose it, each with a comment on its
timeline naming the ID and the counterparty that kept it (the next exchange of that ID updates the one that
kept it).

The column's old (non-unique) index is dropped here: it has the name Frappe gives the unique one, so
Frappe's migrate would skip adding the unique index ("if not exists") and then drop the old one, leaving
the column with no index at all."""

import frappe
from frappe import _


def execute():
	if not frappe.db.table_exists("CRM Counterparty"):
		return
	frappe.db.sql("update `tabCRM Counterparty` set external_id = null where trim(external_id) = ''")
	shared = frappe.db.sql(
		"""select external_id from `tabCRM Counterparty`
		where external_id is not null group by external_id having count(*) > 1""",
		pluck=True,
	)
	for external_id in shared:
		names = frappe.get_all(
			"CRM Counterparty",
			filters={"external_id": external_id},
			order_by="creation asc, name asc",
			pluck="name",
		)
		keeper, others = names[0], names[1:]
		frappe.db.set_value(
			"CRM Counterparty", {"name": ("in", others)}, "external_id", None, update_modified=False
		)
		for name in others:
			frappe.get_doc(
				{
					"doctype": "Comment",
					"comment_type": "Info",
					"reference_doctype": "CRM Counterparty",
					"reference_name": name,
					"content": _(
						"External ID (Accounting) {0} removed: counterparty {1} has it too and keeps it, as an "
						"accounting ID now belongs to one counterparty only"
					).format(external_id, keeper),
				}
			).insert(ignore_permissions=True)
	index = frappe.db.get_column_index("tabCRM Counterparty", "external_id", unique=False)
	if index:
		frappe.db.sql_ddl(f"alter table `tabCRM Counterparty` drop index `{index.Key_name}`")
