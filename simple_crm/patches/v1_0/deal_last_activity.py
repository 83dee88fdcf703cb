"""The last activity of the deals made before the deal kept it: the latest of its creation, its calls, its
tasks (made or completed), the e-mails and comments about it and its stage moves (its versions changing
the stage), the same events simple_crm.automation.deal_follow_up records from now on.

One statement: each activity table is read once, grouped by deal, and joined to the deals still without
a last activity (so running it again changes nothing).
"""

import frappe


def execute():
	frappe.db.sql(
		"""update `tabCRM Deal` `deal`
		left join (
			select `deal` as `name`, max(coalesce(`started_at`, `creation`)) as `at`
			from `tabCRM Call` where `deal` is not null and `deal` != '' group by `deal`
		) `calls` on `calls`.`name` = `deal`.`name`
		left join (
			select `reference_name` as `name`, max(greatest(`creation`, coalesce(`completed_on`, `creation`))) as `at`
			from `tabCRM Task` where `reference_doctype` = 'CRM Deal' group by `reference_name`
		) `tasks` on `tasks`.`name` = `deal`.`name`
		left join (
			select `reference_name` as `name`, max(coalesce(`communication_date`, `creation`)) as `at`
			from `tabCommunication` where `reference_doctype` = 'CRM Deal' group by `reference_name`
		) `emails` on `emails`.`name` = `deal`.`name`
		left join (
			select `reference_name` as `name`, max(`creation`) as `at`
			from `tabComment` where `reference_doctype` = 'CRM Deal' and `comment_type` = 'Comment'
			group by `reference_name`
		) `comments` on `comments`.`name` = `deal`.`name`
		left join (
			select `docname` as `name`, max(`creation`) as `at`
			from `tabVersion` where `ref_doctype` = 'CRM Deal' and `data` like %(stage_changed)s
			group by `docname`
		) `moves` on `moves`.`name` = `deal`.`name`
		set `deal`.`last_activity_on` = least(
			greatest(
				`deal`.`creation`,
				coalesce(`calls`.`at`, `deal`.`creation`),
				coalesce(`tasks`.`at`, `deal`.`creation`),
				coalesce(`emails`.`at`, `deal`.`creation`),
				coalesce(`comments`.`at`, `deal`.`creation`),
				coalesce(`moves`.`at`, `deal`.`creation`)
			),
			%(now)s
		)
		where `deal`.`last_activity_on` is null""",
		{"stage_changed": '%["stage",%', "now": frappe.utils.now_datetime()},
	)
