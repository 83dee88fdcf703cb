"""Who sees and changes which CRM record, by job:

- `roles`: who is who (roles that see everything, heads of sales and their teams);
- `rules`: the row-level SQL condition of each doctype and child table (one entry per doctype);
- `records`: one stored record (has_permission, links to records the author cannot see, fields filled by
  accounting, who is responsible for a new record);
- `assignments`: assignments (ToDo) that grant access, and who may make them;
- `search`: link search, the Desk's search bar and counts under the rules;
- `configuration`: the workflows and assignment rules a CRM administrator may configure.

The names below are what the rest of the app imports.
"""

from simple_crm.constants import ROW_LEVEL_DOCTYPES
from simple_crm.permissions.records import (
	FieldNotWritableError,
	LinkNotVisibleError,
	check_links_visible,
	has_permission,
	record_visible,
	refuse_unwritable_fields,
	set_default_responsible,
)
from simple_crm.permissions.roles import (
	CRM_ROLES,
	FULL_ACCESS_ROLES,
	HEAD_OF_SALES,
	SALES_MANAGER,
	sees_everything,
	team_users,
)
from simple_crm.permissions.rules import child_condition, condition_for, parents_of, row_condition_for
from simple_crm.permissions.search import get_count, global_search, keep_visible, search_visible

__all__ = [
	"CRM_ROLES",
	"FULL_ACCESS_ROLES",
	"HEAD_OF_SALES",
	"ROW_LEVEL_DOCTYPES",
	"SALES_MANAGER",
	"FieldNotWritableError",
	"LinkNotVisibleError",
	"check_links_visible",
	"child_condition",
	"condition_for",
	"get_count",
	"global_search",
	"has_permission",
	"keep_visible",
	"parents_of",
	"record_visible",
	"refuse_unwritable_fields",
	"row_condition_for",
	"search_visible",
	"sees_everything",
	"set_default_responsible",
	"team_users",
]
