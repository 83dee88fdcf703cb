from frappe import _


def get_data():
	"""The client form's connections: its deals first (what a manager opens a client for), its orders and
	the leads it came from, its calls, tasks and complaints, its legal entities. The counts follow the
	row-level rules (simple_crm.security.read_paths.get_open_count)."""
	return {
		"fieldname": "client",
		"non_standard_fieldnames": {"CRM Task": "reference_name"},
		"dynamic_links": {"reference_name": ["CRM Client", "reference_doctype"]},
		"transactions": [
			{"label": _("Sales"), "items": ["CRM Deal", "CRM Order", "CRM Lead"]},
			{"label": _("Activities"), "items": ["CRM Call", "CRM Task", "CRM Complaint"]},
			{"label": _("Requisites"), "items": ["CRM Counterparty"]},
		],
	}
