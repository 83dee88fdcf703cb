app_name = "simple_crm"
app_title = "Simple CRM"
app_publisher = "simple_crm developers"
app_description = "CRM for small and medium sales teams: leads, clients, counterparties, deals and tasks"
app_email = "dev@simple-crm.localhost"
app_license = "mit"

export_python_type_annotations = True

# Installation
# ------------
after_install = "simple_crm.install.after_install"
after_migrate = "simple_crm.install.after_migrate"

# Fixtures: always filtered, never a whole doctype export
fixtures = [
	{"dt": "Custom Field", "filters": [["module", "=", "Simple CRM"]]},
]

doc_events = {
	"Contact": {
		"validate": "simple_crm.contact_events.validate",
		"on_update": "simple_crm.contact_events.on_update",
		"on_trash": "simple_crm.contact_events.on_trash",
	},
}
