"""Contact persons in the Desk's search bar (Global Search Settings) on sites installed before they were
in it; a site whose administrator already lists Contact is left as it is."""

import frappe


def execute():
	settings = frappe.get_single("Global Search Settings")
	if any(row.document_type == "Contact" for row in settings.allowed_in_global_search):
		return
	settings.append("allowed_in_global_search", {"document_type": "Contact"})
	settings.save(ignore_permissions=True)
	frappe.cache.hdel("global_search", "search_priorities")
