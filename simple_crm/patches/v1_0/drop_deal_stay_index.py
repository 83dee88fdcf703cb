"""The funnel no longer reads a user's stays deal by deal (simple_crm.stage_history.stays_query reads them by
the deal's responsible manager): the index it read them through only slowed every move down."""

import frappe

TABLE = "tabCRM Deal Stage History"
INDEX = "deal_stay_index"


def execute():
	if frappe.db.sql(f"show index from `{TABLE}` where Key_name = %s", INDEX):
		frappe.db.sql_ddl(f"alter table `{TABLE}` drop index `{INDEX}`")
