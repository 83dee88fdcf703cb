import frappe


def execute():
	"""Tasks saved before the task list was sorted open first get their sort key, by the rule
	CRMTask.set_list_order applies on save, in one statement (a large base has millions of tasks)."""
	frappe.reload_doc("simple_crm", "doctype", "crm_task")
	frappe.db.sql(
		"""update `tabCRM Task` set `list_order` = case
			when `status` in ('Open', 'In Progress') then ifnull(`due_on`, '2999-01-01')
			else timestampadd(
				microsecond,
				timestampdiff(microsecond, ifnull(ifnull(`completed_on`, `modified`), now(6)), '2200-01-01'),
				'3000-01-01'
			)
		end"""
	)
