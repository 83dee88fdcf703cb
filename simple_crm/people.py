"""People by their names in the Desk.

Lists and the deals kanban show the responsible manager or the assignee by the full name the Desk has for a
user (public/js/people.js reads `frappe.boot.user_info`). Frappe's boot names the session user only, so a head
of sales or a director, who reads the team's records, saw a colleague's e-mail address there. The boot brings
the names of the organisation's active users (Desk users), in one query.
"""

import frappe
from frappe.utils import add_user_info

# a larger organisation gets the first ones by name; the others are shown by their e-mail addresses
MAX_USERS = 2000


def extend_bootinfo(bootinfo) -> None:
	if "user_info" not in bootinfo or frappe.session.user == "Guest":
		return
	users = frappe.get_all(
		"User",
		filters={"enabled": 1, "user_type": "System User"},
		pluck="name",
		order_by="name",
		limit=MAX_USERS,
	)
	add_user_info(users, bootinfo.user_info)
