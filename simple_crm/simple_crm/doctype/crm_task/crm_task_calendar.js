// Copyright (c) 2026, simple_crm developers and contributors
// For license information, please see license.txt

// Tasks on the calendar at their due time (/app/crm-task/view/calendar/default).
frappe.views.calendar["CRM Task"] = {
	field_map: {
		start: "due_on",
		end: "due_on",
		id: "name",
		title: "subject",
	},
	fields: ["name", "subject", "due_on", "status", "assigned_to"],
	filters: [
		{
			fieldtype: "Link",
			fieldname: "assigned_to",
			options: "User",
			label: __("Assigned To", null, "CRM Task"),
		},
	],
	get_css_class(task) {
		if (task.status === "Done") return "success";
		if (task.status === "Cancelled") return "default";
		// due_on is stored in the system time zone, as is system_datetime(): plain strings compare
		if (task.due_on && task.due_on < frappe.datetime.system_datetime()) return "danger";
		return "warning";
	},
	// A task has one moment (due_on), not a span: dropping it on the calendar moves that moment to
	// where it was dropped (the default would write the event's end, one hour later, into due_on).
	get_update_args(event) {
		return {
			args: {
				doctype: "CRM Task",
				name: event.name,
				due_on: this.get_system_datetime(event.start),
			},
			field_map: this.field_map,
		};
	},
	get_events_method: "frappe.desk.calendar.get_events",
};
