from frappe import _


def get_data():
	return {
		"fieldname": "deal",
		"non_standard_fieldnames": {"CRM Task": "reference_name"},
		"dynamic_links": {"reference_name": ["CRM Deal", "reference_doctype"]},
		"transactions": [
			{"label": _("Accounting"), "items": ["CRM Order"]},
			{"label": _("Activities"), "items": ["CRM Task", "CRM Call"]},
		],
	}
