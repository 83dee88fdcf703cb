# names starting with "_" are not read as hooks
from simple_crm.constants import ROW_LEVEL_CHILD_DOCTYPES as _ROW_LEVEL_CHILD_DOCTYPES
from simple_crm.constants import ROW_LEVEL_DOCTYPES as _ROW_LEVEL_DOCTYPES
from simple_crm.constants import TIMELINE_DOCTYPES as _TIMELINE_DOCTYPES

app_name = "simple_crm"
app_title = "Simple CRM"
app_publisher = "simple_crm developers"
app_description = "CRM for small and medium sales teams: leads, clients, counterparties, deals and tasks"
app_email = "dev@simple-crm.localhost"
app_license = "mit"

export_python_type_annotations = True

# Installation
# ------------
# list queries take no sub-queries or functions beyond the Desk's aggregates (simple_crm.security.query_guard)
before_request = [
	"simple_crm.security.query_guard.before_request",
	# a request body Frappe would fail on with a 500 is refused with a message (simple_crm.security.input)
	"simple_crm.security.input.check_request",
	# Frappe asks the has_permission hooks of a child doctype too (simple_crm.security.side_doors)
	"simple_crm.security.side_doors.before_request",
	# counts, reports, charts and number cards read every visible row (simple_crm.permissions.rules)
	"simple_crm.permissions.rules.before_request",
]
before_job = ["simple_crm.security.query_guard.before_job", "simple_crm.security.side_doors.before_job"]
# a refusal's answer carries its message, not a traceback (simple_crm.security.refusals)
after_request = ["simple_crm.security.refusals.after_request"]
# the names of the organisation's users for lists and the kanban (simple_crm.people)
extend_bootinfo = "simple_crm.people.extend_bootinfo"
after_install = "simple_crm.install.after_install"
after_migrate = "simple_crm.install.after_migrate"
# a new site's deal boards: the kanban's pipeline field comes with the fixtures, synced after after_install
after_sync = "simple_crm.install.seed_deal_kanban"
# the tests' sales organisation (users with their roles) is made once per run
before_tests = "simple_crm.tests.sales_org.before_tests"

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
	"Registered",
	"In Work",
	"Resolved",
	"Rejected",
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
	"Resolve",
	"Reject",
]

# Fixtures: always filtered, never a whole doctype export
fixtures = [
	{"dt": "Custom Field", "filters": [["module", "=", "Simple CRM"]]},
	{
		"dt": "Role",
		"filters": [
			[
				"name",
				"in",
				[
					"CRM Sales Manager",
					"CRM Head of Sales",
					"CRM Director",
					"CRM Administrator",
					"CRM Integration",
				],
			]
		],
	},
	{"dt": "Workflow State", "filters": [["name", "in", WORKFLOW_STATES]]},
	{"dt": "Workflow Action Master", "filters": [["name", "in", WORKFLOW_ACTIONS]]},
]
# The Lead, Deal and Complaint workflows are not fixtures: Frappe re-imports fixtures over the site's records
# on every migrate, and administrators edit these workflows in the Desk. install.seed_workflows creates them
# once from simple_crm/setup/workflows.json.

doc_events = {
	"Workflow": {"on_update": "simple_crm.workflows.on_workflow_update"},
	"Contact": {
		"validate": [
			"simple_crm.contact_events.validate",
			"simple_crm.permissions.records.check_links_visible",
		],
		"on_update": "simple_crm.contact_events.on_update",
		"on_trash": "simple_crm.contact_events.on_trash",
		"after_rename": "simple_crm.contact_events.after_rename",
		"before_test_insert": "simple_crm.contact_events.before_test_insert",
	},
	"ToDo": {
		# an assignment grants access: only those who may hand the record out make one
		"validate": "simple_crm.permissions.assignments.check_assignment",
		# assigning an unassigned lead (Assignment Rule, Assign To) makes the assignee responsible
		"after_insert": "simple_crm.distribution.on_todo_insert",
	},
}
for _doctype in _ROW_LEVEL_DOCTYPES:
	_events = doc_events.setdefault(_doctype, {})
	# a record may link only to records its author can see (Contact: in its list above)
	if _doctype != "Contact":
		_events["validate"] = "simple_crm.permissions.records.check_links_visible"
	# an Assignment Rule (Frappe's on_update hook, run after these) may hand the record out within its save
	_events["on_update"] = [
		*(
			[_events["on_update"]]
			if isinstance(_events.get("on_update"), str)
			else _events.get("on_update", [])
		),
		"simple_crm.permissions.assignments.record_save_started",
	]
	_events["on_change"] = "simple_crm.permissions.assignments.record_save_finished"

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
	"Discussion Topic",
	"Auto Repeat",
)
# attachments of CRM records are private, and a shared kanban board of them keeps no card names (see
# simple_crm.security.read_paths)
doc_events.setdefault("File", {})["after_insert"] = "simple_crm.security.read_paths.make_attachment_private"
doc_events["Kanban Board"] = {
	"validate": [
		"simple_crm.security.read_paths.forget_card_order",
		# a pipeline's board shows that pipeline's deals only (simple_crm.kanban)
		"simple_crm.kanban.keep_pipeline_filter",
	],
	"on_trash": "simple_crm.kanban.keep_pipeline_board",
}
# Every value of the app's records fits its column: a real date, a finite number in range, a text that fits
# (simple_crm.security.input.check_document; first, before anything reads the values)
doc_events["*"] = {
	"before_validate": ["simple_crm.security.input.check_document"],
	# texts once the controllers have cleaned them (separators removed), before Frappe writes them
	"before_save": ["simple_crm.security.input.check_document_lengths"],
}
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
# discussions (Frappe saves them with ignore_permissions) only about records the user can see (side_doors)
doc_events["Discussion Topic"] = {"validate": "simple_crm.security.side_doors.check_discussion_topic"}
doc_events["Discussion Reply"] = {"validate": "simple_crm.security.side_doors.check_discussion_reply"}
for _doctype in _ROW_LEVEL_DOCTYPES:
	doc_events.setdefault(_doctype, {})["before_rename"] = [
		"simple_crm.security.foreign_writes.check_rename_target",
		"simple_crm.duplicates.before_merge",
	]

# a new lead is distributed and gets its call-back task from a job enqueued when its insert commits
doc_events["CRM Lead"]["before_insert"] = "simple_crm.automation.new_leads.before_lead_insert"
doc_events["CRM Lead"]["after_insert"] = "simple_crm.automation.new_leads.on_lead_insert"

# Row-level visibility: one condition per doctype, for lists and for single records alike
permission_query_conditions = {
	# the row-level doctypes, and their child tables following their parent (see permissions.rules)
	**{
		doctype: "simple_crm.permissions.rules.query_conditions"
		for doctype in (*_ROW_LEVEL_DOCTYPES, *_ROW_LEVEL_CHILD_DOCTYPES)
	},
	"Workflow": "simple_crm.permissions.configuration.configuration_query",
	"Assignment Rule": "simple_crm.permissions.configuration.configuration_query",
	# Frappe's rows about a record (attachments, workflow actions, assignments, comments, versions, tags,
	# follows, discussions) follow that record (see simple_crm.security.read_paths)
	**{doctype: "simple_crm.security.read_paths.reference_query" for doctype in _REFERENCE_DOCTYPES},
	# a tag only on records the user cannot see is hidden; a discussion's reply follows its topic
	"Tag": "simple_crm.security.read_paths.tag_query",
	"Discussion Reply": "simple_crm.security.read_paths.reply_query",
}

# Link search of these doctypes goes through the same conditions (see permissions.search_visible)
standard_queries = {
	doctype: "simple_crm.permissions.search.search_visible" for doctype in _ROW_LEVEL_DOCTYPES
}

# Frappe's global search checks the doctype only, and frappe.client.get_count nothing at all: these
# replacements apply the same row-level conditions
override_whitelisted_methods = {
	# the CRM's records and every other doctype's rows as the user lists them
	"frappe.utils.global_search.search": "simple_crm.permissions.search.global_search",
	"frappe.client.get_count": "simple_crm.permissions.search.get_count",
	# likes check nothing, tags check too late (a 500): these check that the user may change the record
	"frappe.desk.like.toggle_like": "simple_crm.security.foreign_writes.toggle_like",
	"frappe.desk.doctype.tag.tag.add_tag": "simple_crm.security.foreign_writes.add_tag",
	"frappe.desk.doctype.tag.tag.add_tags": "simple_crm.security.foreign_writes.add_tags",
	"frappe.desk.doctype.tag.tag.remove_tag": "simple_crm.security.foreign_writes.remove_tag",
	"frappe.desk.doctype.dashboard_chart.dashboard_chart.get": "simple_crm.security.query_guard.dashboard_chart",
	# the workspace page with its number cards and charts, drawn without a request each (simple_crm.dashboards)
	"frappe.desk.desktop.get_desktop_page": "simple_crm.dashboards.get_desktop_page",
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
	# these look records up without the row-level rules, or name what the user cannot see (side_doors)
	"frappe.client.get": "simple_crm.security.side_doors.get",
	"frappe.core.doctype.sms_settings.sms_settings.get_contact_number": (
		"simple_crm.security.side_doors.get_contact_number"
	),
	"frappe.desk.doctype.tag.tag.get_tags": "simple_crm.security.side_doors.get_tags",
	"frappe.utils.file_manager.add_attachments": "simple_crm.security.side_doors.add_attachments",
	"frappe.core.api.file.unzip_file": "simple_crm.security.side_doors.unzip_file",
	# Frappe's hooks send the old path on to the new one, one level only: it is answered here as well
	"frappe.core.doctype.file.file.unzip_file": "simple_crm.security.side_doors.unzip_file",
	"frappe.desk.form.document_follow.unfollow_document": "simple_crm.security.side_doors.unfollow_document",
}

# what the Desk's search bar finds (Global Search Settings; see install.add_to_global_search)
GLOBAL_SEARCH_DOCTYPES = (
	"CRM Lead",
	"CRM Deal",
	"CRM Client",
	"Contact",
	"CRM Counterparty",
	"CRM Task",
	"CRM Call",
	"CRM Order",
	"CRM Product",
)
# Frappe's own hook lists Contact already, and the setup wizard refuses a doctype listed twice
global_search_doctypes = {
	"Default": [{"doctype": doctype} for doctype in GLOBAL_SEARCH_DOCTYPES if doctype != "Contact"]
}

has_permission = {
	**{doctype: "simple_crm.permissions.records.has_permission" for doctype in _ROW_LEVEL_DOCTYPES},
	# a CRM administrator configures the CRM's own workflows and assignment rules only
	"Workflow": "simple_crm.permissions.configuration.configuration_permission",
	"Assignment Rule": "simple_crm.permissions.configuration.configuration_permission",
	**{doctype: "simple_crm.security.read_paths.reference_permission" for doctype in _REFERENCE_DOCTYPES},
	"Tag": "simple_crm.security.read_paths.tag_permission",
	"Discussion Reply": "simple_crm.security.read_paths.reply_permission",
	# a row of a child table follows its parent record; a notification is its recipient's (side_doors)
	**{doctype: "simple_crm.security.side_doors.child_permission" for doctype in _ROW_LEVEL_CHILD_DOCTYPES},
	"Notification Log": "simple_crm.security.side_doors.notification_permission",
}

# Sales targets: a rule of their own (a manager's and their team's targets; a head's team; see the doctype)
_SALES_TARGET = "simple_crm.simple_crm.doctype.crm_sales_target.crm_sales_target"
permission_query_conditions["CRM Sales Target"] = f"{_SALES_TARGET}.query_conditions"
has_permission["CRM Sales Target"] = f"{_SALES_TARGET}.has_permission"
# the workspace's plan-vs-fact number cards: each role sees the one of its role (simple_crm.dashboards)
has_permission["Number Card"] = "simple_crm.dashboards.number_card_permission"

# Recurring tasks (Frappe's Auto Repeat, open to the CRM's sales roles): a user who does not see everything
# repeats only tasks they may change and has no copies e-mailed; only a System Manager writes templates beyond
# field lookups (see simple_crm.security.auto_repeat)
has_permission["Auto Repeat"] = [
	has_permission["Auto Repeat"],
	"simple_crm.security.auto_repeat.auto_repeat_permission",
]
doc_events["Auto Repeat"] = {"before_validate": "simple_crm.security.auto_repeat.check_auto_repeat"}
_AUTO_REPEAT = "frappe.automation.doctype.auto_repeat.auto_repeat"
override_whitelisted_methods[f"{_AUTO_REPEAT}.update_reference"] = (
	"simple_crm.security.auto_repeat.update_reference"
)
override_whitelisted_methods[f"{_AUTO_REPEAT}.generate_message_preview"] = (
	"simple_crm.security.auto_repeat.generate_message_preview"
)

# Desk assets (plain files, no build step needed)
app_include_js = [
	"/assets/simple_crm/js/hand_over.js",
	"/assets/simple_crm/js/duplicates.js",
	# the search bar: records by title, and found by phone, e-mail, INN or name in its drop-down
	"/assets/simple_crm/js/search_bar.js",
	# durations and the timelines' history lines in the user's words
	"/assets/simple_crm/js/words.js",
]
# a refusal the user has read is no uncaught error in the page (simple_crm.security.refusals)
app_include_js.append("/assets/simple_crm/js/refusals.js")
# the workspace's cards and charts come with its page (simple_crm.dashboards.get_desktop_page)
app_include_js.append("/assets/simple_crm/js/workspace.js")
doctype_list_js = {"CRM Hand Over": "public/js/crm_hand_over_list.js"}

# Contact form: inline duplicate warnings (the CRM doctypes carry it in their own form scripts)
doctype_js = {"Contact": "public/js/contact.js"}
# the Call button on the forms of leads, clients, contacts and deals (see simple_crm.integrations.telephony)
for _doctype in ("CRM Lead", "CRM Client", "Contact", "CRM Deal"):
	_files = doctype_js.get(_doctype) or []
	doctype_js[_doctype] = [
		*([_files] if isinstance(_files, str) else _files),
		"public/js/call_button.js",
		# Next Task: a dialog planning the next step about the record (simple_crm.api.task)
		"public/js/next_task.js",
	]

# The duplicate index is maintained by on_trash of the records it points to; it never blocks a delete
# neither do the marks of the automation jobs (what they did once about a record: simple_crm.automation)
ignore_links_on_delete = ["CRM Contact Point", "CRM Automation Mark"]

# Calls and tasks on the timelines of the records they concern (read live, see simple_crm/timeline.py)
additional_timeline_content = {
	doctype: ["simple_crm.timeline.get_timeline_content"] for doctype in _TIMELINE_DOCTYPES
}

# Automation (simple_crm/automation/, one module per job family). Every job is idempotent, bounded per run
# and switchable in Simple CRM Settings > Automation; see simple_crm/automation/__init__.py.
scheduler_events = {
	"cron": {
		# reminders go out within a minute of a task's Remind At
		"* * * * *": [
			"simple_crm.automation.task_reminders.send_due_reminders",
			# queued SMS whose retry is due (backoff), or whose send job was lost
			"simple_crm.automation.sms_retries.retry_failed_sends",
		],
		"*/5 * * * *": [
			# a new lead whose call-back job was lost (worker down) still gets its task
			"simple_crm.automation.new_leads.catch_up",
			"simple_crm.automation.lead_sla.escalate_overdue_leads",
			"simple_crm.automation.task_reminders.notify_overdue_tasks",
			# delivery reports of sent SMS
			"simple_crm.automation.sms_retries.check_delivery",
		],
		# each sends at the hour set in Simple CRM Settings, once a day
		"0 * * * *": [
			"simple_crm.automation.task_reminders.send_morning_summaries",
			"simple_crm.automation.digest.send_daily_digests",
		],
		# hourly: a big base has more dates coming up and deals going idle a day than one run takes (a run is
		# bounded); cheap when nothing is due
		"30 * * * *": [
			"simple_crm.automation.important_dates.create_important_date_tasks",
			"simple_crm.automation.deal_follow_up.create_follow_up_tasks",
		],
	},
	# nightly, on the long queue
	"daily_long": [
		"simple_crm.automation.client_classes.update_activity_levels",
		"simple_crm.automation.client_classes.update_abc_classes",
	],
}

# e-mails and comments about a deal are activity on it: they move its last activity forward (the nightly
# follow-up of idle deals reads that; see simple_crm.automation.deal_follow_up)
for _doctype, _handler in (
	("Communication", "simple_crm.automation.deal_follow_up.on_communication_insert"),
	("Comment", "simple_crm.automation.deal_follow_up.on_comment_insert"),
):
	_events = doc_events.setdefault(_doctype, {})
	_previous = _events.get("after_insert") or []
	_events["after_insert"] = [*([_previous] if isinstance(_previous, str) else _previous), _handler]

# Telegram (simple_crm.integrations.telegram): Reply in Telegram on the forms of leads and contacts, Set
# Webhook in Simple CRM Settings; replies whose send failed for a while (or whose job was lost) are tried again
app_include_js.append("/assets/simple_crm/js/telegram.js")
scheduler_events["cron"]["* * * * *"].append("simple_crm.integrations.telegram.send_due_replies")

# SMS (simple_crm.integrations.sms): the Send SMS action on the forms and lists of contacts, leads and clients;
# Frappe's own SMS (Notifications with the SMS channel, its SMS dialog) take the CRM's path, logged and, while
# the channel is on, queued and retried like the CRM's own; only a System Manager sends to any number
app_include_js.append("/assets/simple_crm/js/sms.js")
before_request.append("simple_crm.integrations.sms.route_frappe_sms")
before_job.append("simple_crm.integrations.sms.route_frappe_sms")
override_whitelisted_methods["frappe.core.doctype.sms_settings.sms_settings.send_sms"] = (
	"simple_crm.api.sms.frappe_send_sms"
)

# heavy reads (reports, exports) on the site's read replica when it has one: errors logged meanwhile are deferred,
# an unreachable replica leaves them on the primary (simple_crm.replica; README: Scaling out)
before_request.append("simple_crm.replica.before_request")
before_job.append("simple_crm.replica.before_job")

# website inquiries: a submission of a web form for CRM Lead gets the checks, the duplicate handling and the
# answer of the websites' endpoint (simple_crm.integrations.web_to_lead); other web forms go on to Frappe
override_whitelisted_methods["frappe.website.doctype.web_form.web_form.accept"] = (
	"simple_crm.api.web_to_lead.accept"
)
# an accepted inquiry is handled by a job; those whose job was lost, or whose retry is due, within a minute
scheduler_events["cron"]["* * * * *"].append("simple_crm.integrations.web_to_lead.catch_up")

# e-mail (simple_crm.integrations.email): the mail of the CRM Inbox lands on the CRM's records (a new lead for an
# unknown sender), and e-mails written about CRM records go out through the company's default outgoing account;
# Frappe's receiving keeps each message's headers at hand for the Communication's hooks
before_request.append("simple_crm.integrations.email.install")
before_job.append("simple_crm.integrations.email.install")
_events = doc_events.setdefault("Communication", {})
for _event, _handler in (
	("before_insert", "simple_crm.integrations.email.before_communication_insert"),
	("after_insert", "simple_crm.integrations.email.after_communication_insert"),
):
	_previous = _events.get(_event) or []
	_events[_event] = [*([_previous] if isinstance(_previous, str) else _previous), _handler]

# spreadsheet import (simple_crm.integrations.spreadsheet_import): duplicate rows of leads, clients, contacts and
# counterparties are skipped, merged or imported with a warning, as the Data Import says, and every row's
# outcome is kept for the import's summary
before_request.append("simple_crm.integrations.spreadsheet_import.install")
before_job.append("simple_crm.integrations.spreadsheet_import.install")
doc_events.setdefault("Data Import", {}).update(
	{
		"validate": "simple_crm.integrations.spreadsheet_import.install_on_save",
		"on_trash": "simple_crm.integrations.spreadsheet_import.delete_rows",
	}
)
# an imported row's outcome never keeps its record (or the import) from being deleted
ignore_links_on_delete.append("CRM Import Row")
doctype_js["Data Import"] = "public/js/data_import.js"
# the Workflow form of the deals says that the Pipeline form keeps its stages (simple_crm.workflows)
doctype_js["Workflow"] = "public/js/workflow_note.js"

# Accounting exchange (simple_crm.integrations.exchange): a lead converted into a client is announced to the
# accounting system by a signed webhook, sent in the background and retried until it is taken
doc_events["CRM Lead"]["on_update"].append("simple_crm.integrations.exchange.webhook.on_lead_update")
scheduler_events["cron"]["* * * * *"].append("simple_crm.integrations.exchange.webhook.send_due")
# the lost or disqualification reason is asked for by a dialog, from the form's workflow action and from a drop
# on the kanban (public/js/lost_reason.js; the kanban move takes the reason: simple_crm.security.read_paths)
app_include_js.append("/assets/simple_crm/js/lost_reason.js")
# people by their names in lists and on the deals kanban (public/js/people.js)
app_include_js.append("/assets/simple_crm/js/people.js")

# 1C exchange (CommerceML): its Basic credentials are checked by the exchange itself, not as an API key
before_request.append("simple_crm.integrations.commerceml.protocol.before_request")
