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
# a request body Frappe would fail on with a 500 is refused with a message (simple_crm.security.input)
before_request = ["simple_crm.security.input.check_request"]

WORKFLOW_STATES = [
	"New",
	"In Progress",
	"Qualified",
	"Converted",
	"Disqualified",
	"Qualification",
	"Needs Analysis",
	"Proposal",
	"Negotiation",
	"Won",
	"Lost",
]
WORKFLOW_ACTIONS = [
	"Start Work",
	"Qualify",
	"Return to Work",
	"Disqualify",
	"Convert",
	"Reopen",
	"Win",
	"Lose",
	"Move to Qualification",
	"Move to Needs Analysis",
	"Move to Proposal",
	"Move to Negotiation",
]

# Fixtures: always filtered, never a whole doctype export
fixtures = [
	{"dt": "Custom Field", "filters": [["module", "=", "Simple CRM"]]},
	{
		"dt": "Role",
		"filters": [
			["name", "in", ["CRM Sales Manager", "CRM Head of Sales", "CRM Director", "CRM Administrator"]]
		],
	},
	{"dt": "Workflow State", "filters": [["name", "in", WORKFLOW_STATES]]},
	{"dt": "Workflow Action Master", "filters": [["name", "in", WORKFLOW_ACTIONS]]},
]
# The Lead and Deal workflows are not fixtures: Frappe re-imports fixtures over the site's records on every
# migrate, and administrators edit these workflows in the Desk. install.seed_workflows creates them once
# from simple_crm/setup/workflows.json.

# The doctypes with row-level visibility (the same list as simple_crm.permissions.ROW_LEVEL_DOCTYPES;
# hooks.py imports no app code)
_ROW_LEVEL_DOCTYPES = (
	"CRM Lead",
	"CRM Deal",
	"CRM Client",
	"CRM Counterparty",
	"CRM Order",
	"CRM Task",
	"CRM Call",
	"Contact",
)
doc_events = {
	"Workflow": {"on_update": "simple_crm.workflows.on_workflow_update"},
	"Contact": {
		"validate": ["simple_crm.contact_events.validate", "simple_crm.permissions.check_links_visible"],
		"on_update": "simple_crm.contact_events.on_update",
		"on_trash": "simple_crm.contact_events.on_trash",
		"after_rename": "simple_crm.contact_events.after_rename",
		"before_test_insert": "simple_crm.contact_events.before_test_insert",
	},
	# assigning an unassigned lead (Assignment Rule, Assign To) makes the assignee responsible
	"ToDo": {"after_insert": "simple_crm.distribution.on_todo_insert"},
	# a record may link only to records its author can see (see simple_crm.permissions); Contact above
	**{
		doctype: {"validate": "simple_crm.permissions.check_links_visible"}
		for doctype in _ROW_LEVEL_DOCTYPES
		if doctype != "Contact"
	},
}

# the doctypes of simple_crm.security.read_paths.REFERENCE_FIELDS: their rows describe another record
_REFERENCE_DOCTYPES = (
	"File",
	"Workflow Action",
	"ToDo",
	"Comment",
	"Communication",
	"Version",
	"Tag Link",
	"Document Follow",
	"Energy Point Log",
)
# attachments of CRM records are private, and a shared kanban board of them keeps no card names (see
# simple_crm.security.read_paths)
doc_events.setdefault("File", {})["after_insert"] = "simple_crm.security.read_paths.make_attachment_private"
doc_events["Kanban Board"] = {"validate": "simple_crm.security.read_paths.forget_card_order"}
# Every value of the app's records fits its column: a real date, a finite number in range, a text that fits
# (simple_crm.security.input.check_document; first, before anything reads the values)
doc_events["*"] = {"before_validate": ["simple_crm.security.input.check_document"]}
# Every link of the app's records names a record that exists (Frappe skips the check for links with
# fetch_from; see simple_crm.integrity.check_links_exist)
doc_events["*"]["before_validate"].append("simple_crm.integrity.check_links_exist")
# Writes about a record that do not save it (attachments, tags, comments and likes, follows, merges) are
# refused on records the user cannot see (see simple_crm.security.foreign_writes)
for _doctype, _check in (
	("File", "check_file"),
	("Tag Link", "check_tag_link"),
	("Comment", "check_comment"),
	("Document Follow", "check_document_follow"),
):
	doc_events.setdefault(_doctype, {})["validate"] = f"simple_crm.security.foreign_writes.{_check}"
for _doctype in _ROW_LEVEL_DOCTYPES:
	doc_events.setdefault(_doctype, {})["before_rename"] = [
		"simple_crm.security.foreign_writes.check_rename_target",
		"simple_crm.duplicates.before_merge",
	]

# Row-level visibility: one condition per doctype, for lists and for single records alike
permission_query_conditions = {
	"CRM Lead": "simple_crm.permissions.lead_query",
	"CRM Deal": "simple_crm.permissions.deal_query",
	"CRM Client": "simple_crm.permissions.client_query",
	"CRM Counterparty": "simple_crm.permissions.counterparty_query",
	"CRM Order": "simple_crm.permissions.order_query",
	"CRM Task": "simple_crm.permissions.task_query",
	"CRM Call": "simple_crm.permissions.call_query",
	"Contact": "simple_crm.permissions.contact_query",
	"Workflow": "simple_crm.permissions.configuration_query",
	"Assignment Rule": "simple_crm.permissions.configuration_query",
	# child tables follow their parent (see permissions.child_condition)
	**{
		child: "simple_crm.permissions.child_query"
		for child in (
			"CRM Deal Item",
			"CRM Deal Manager",
			"CRM Deal Contact",
			"CRM Deal Competitor",
			"CRM Important Date",
			"CRM Counterparty Bank Account",
			"CRM Task Checklist Item",
			"Contact Email",
			"Contact Phone",
			"Dynamic Link",
		)
	},
	# Frappe's rows about a record (attachments, workflow actions, assignments, comments, versions, tags,
	# follows) follow that record (see simple_crm.security.read_paths)
	**{doctype: "simple_crm.security.read_paths.reference_query" for doctype in _REFERENCE_DOCTYPES},
}

# Link search of these doctypes goes through the same conditions (see permissions.search_visible)
standard_queries = {doctype: "simple_crm.permissions.search_visible" for doctype in _ROW_LEVEL_DOCTYPES}

# Frappe's global search checks the doctype only, and frappe.client.get_count nothing at all: these
# replacements apply the same row-level conditions
override_whitelisted_methods = {
	# the CRM's records and every other doctype's rows as the user lists them
	"frappe.utils.global_search.search": "simple_crm.security.read_paths.global_search",
	"frappe.client.get_count": "simple_crm.permissions.get_count",
	# likes check nothing, tags check too late (a 500): these check that the user may change the record
	"frappe.desk.like.toggle_like": "simple_crm.security.foreign_writes.toggle_like",
	"frappe.desk.doctype.tag.tag.add_tag": "simple_crm.security.foreign_writes.add_tag",
	"frappe.desk.doctype.tag.tag.add_tags": "simple_crm.security.foreign_writes.add_tags",
	"frappe.desk.doctype.tag.tag.remove_tag": "simple_crm.security.foreign_writes.remove_tag",
	# these read or count records by name or with raw SQL, without the row-level rules (read_paths)
	"frappe.desk.search.get_link_title": "simple_crm.security.read_paths.get_link_title",
	"frappe.desk.listview.get_group_by_count": "simple_crm.security.read_paths.get_group_by_count",
	"frappe.desk.notifications.get_open_count": "simple_crm.security.read_paths.get_open_count",
	"frappe.desk.form.utils.get_next": "simple_crm.security.read_paths.get_next",
	"frappe.desk.doctype.kanban_board.kanban_board.update_order": "simple_crm.security.read_paths.update_order",
	"frappe.desk.doctype.kanban_board.kanban_board.update_order_for_single_card": (
		"simple_crm.security.read_paths.update_order_for_single_card"
	),
	"frappe.desk.doctype.kanban_board.kanban_board.add_card": "simple_crm.security.read_paths.add_card",
}

# what the Desk's search bar finds (Global Search Settings; see install.add_to_global_search)
GLOBAL_SEARCH_DOCTYPES = (
	"CRM Lead",
	"CRM Deal",
	"CRM Client",
	"CRM Counterparty",
	"CRM Task",
	"CRM Call",
	"CRM Order",
	"CRM Product",
)
global_search_doctypes = {"Default": [{"doctype": doctype} for doctype in GLOBAL_SEARCH_DOCTYPES]}

has_permission = {
	**{doctype: "simple_crm.permissions.has_permission" for doctype in _ROW_LEVEL_DOCTYPES},
	# a CRM administrator configures the CRM's own workflows and assignment rules only
	"Workflow": "simple_crm.permissions.configuration_permission",
	"Assignment Rule": "simple_crm.permissions.configuration_permission",
	**{doctype: "simple_crm.security.read_paths.reference_permission" for doctype in _REFERENCE_DOCTYPES},
}

# Desk assets (plain files, no build step needed)
app_include_js = ["/assets/simple_crm/js/hand_over.js", "/assets/simple_crm/js/duplicates.js"]
doctype_list_js = {"CRM Hand Over": "public/js/crm_hand_over_list.js"}

# Contact form: inline duplicate warnings (the CRM doctypes carry it in their own form scripts)
doctype_js = {"Contact": "public/js/contact.js"}

# The duplicate index is maintained by on_trash of the records it points to; it never blocks a delete
ignore_links_on_delete = ["CRM Contact Point"]

# Calls and tasks on the timelines of the records they concern (read live, see simple_crm/timeline.py)
additional_timeline_content = {
	doctype: ["simple_crm.timeline.get_timeline_content"]
	for doctype in ("CRM Lead", "CRM Client", "CRM Counterparty", "CRM Deal", "Contact", "CRM Call")
}
