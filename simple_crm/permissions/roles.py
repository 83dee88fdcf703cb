"""Who is who in the sales organisation: full-access roles, heads of sales and their teams."""

import frappe

FULL_ACCESS_ROLES = frozenset({"System Manager", "CRM Administrator", "CRM Director"})
HEAD_OF_SALES = "CRM Head of Sales"
SALES_MANAGER = "CRM Sales Manager"
CRM_ROLES = frozenset({HEAD_OF_SALES, SALES_MANAGER, *FULL_ACCESS_ROLES} - {"System Manager"})
# the accounting system's user (simple_crm.integrations.exchange): reads every record of the doctypes it
# exchanges, like a director, and has no other permission
INTEGRATION = "CRM Integration"
INTEGRATION_DOCTYPES = frozenset({"CRM Client", "CRM Counterparty", "CRM Order", "CRM Deal"})


def sees_everything(user: str | None = None) -> bool:
	user = user or frappe.session.user
	if user == "Administrator":
		return True
	return bool(FULL_ACCESS_ROLES.intersection(frappe.get_roles(user)))


def team_users(user: str) -> list[str]:
	"""The user plus, for a head of sales, the members of every active team they lead."""
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
		users.update(row for row in rows if row)
	return sorted(users)
