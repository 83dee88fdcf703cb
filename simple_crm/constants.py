"""Names that several modules of the app need, defined once.

Pure Python (nothing of Frappe is imported), so hooks.py can use it too.
"""

# The module of the app's own doctypes
APP_MODULE = "Simple CRM"

# Records with row-level visibility: each has one condition in simple_crm.permissions.rules
ROW_LEVEL_DOCTYPES = (
	"CRM Lead",
	"CRM Deal",
	"CRM Client",
	"CRM Counterparty",
	"CRM Order",
	"CRM Task",
	"CRM Call",
	"Contact",
	"CRM Complaint",
)

# Child tables of those records: a row is visible when its parent is
ROW_LEVEL_CHILD_DOCTYPES = (
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

# Lead statuses
LEAD_NEW = "New"
LEAD_CONVERTED = "Converted"
OPEN_LEAD_STATUSES = ("New", "In Progress", "Qualified")

# Task statuses that still need work
OPEN_TASK_STATUSES = ("Open", "In Progress")

# Complaint statuses (CRM Complaint Workflow): a complaint is open until it is resolved or rejected
COMPLAINT_REGISTERED = "Registered"
COMPLAINT_RESOLVED = "Resolved"
COMPLAINT_REJECTED = "Rejected"
CLOSED_COMPLAINT_STATUSES = (COMPLAINT_RESOLVED, COMPLAINT_REJECTED)

# Frappe assignment (ToDo) statuses
ASSIGNMENT_OPEN = "Open"

# Records whose form timeline shows their calls and tasks (simple_crm.timeline)
TIMELINE_DOCTYPES = ("CRM Lead", "CRM Client", "CRM Counterparty", "CRM Deal", "Contact", "CRM Call")
