// The Desk's words in the user's language where Frappe leaves them as stored:
// - durations ("13 мин 44 с", not "13m 44s") wherever a Duration is shown (forms, lists, reports);
// - the history lines of a CRM record's timeline: a status, stage or other choice changed "from Новый to В
//   работе" in the words the form shows (the record's own translations), people by their full names.
frappe.provide("simple_crm.words");

simple_crm.words.duration = function (value, duration_options = null) {
	if (!value) return "";
	const options = duration_options || { hide_days: 0, hide_seconds: 0 };
	const parts = frappe.utils.seconds_to_duration(value, options);
	return [
		[parts.days, "{0}d"],
		[parts.hours, "{0}h"],
		[parts.minutes, "{0}m"],
		[parts.seconds, "{0}s"],
	]
		.filter(([amount]) => amount)
		.map(([amount, unit]) => __(unit, [amount]))
		.join(" ");
};
frappe.utils.get_formatted_duration = simple_crm.words.duration;

// the records whose timelines show their history (hooks.py TIMELINE_DOCTYPES and the tasks and complaints)
simple_crm.words.TIMELINE_DOCTYPES = [
	"CRM Lead",
	"CRM Client",
	"CRM Counterparty",
	"CRM Deal",
	"CRM Task",
	"CRM Call",
	"CRM Complaint",
	"Contact",
];

// a value of a version's change as the form shows it
simple_crm.words.value = function (doctype, fieldname, value) {
	if (value === null || value === undefined || value === "") return value;
	const df = frappe.meta.get_docfield(doctype, fieldname);
	const state_field = frappe.workflow.get_state_fieldname(doctype);
	if (fieldname === state_field || (df && df.fieldtype === "Select")) {
		return __(String(value), null, doctype);
	}
	if (df && df.fieldtype === "Link" && df.options === "User") {
		return frappe.user.full_name(value);
	}
	if (df && df.fieldtype === "Duration") {
		return simple_crm.words.duration(value, { hide_days: df.hide_days, hide_seconds: df.hide_seconds });
	}
	return value;
};

simple_crm.words.translate_version = function (doctype, data) {
	let parsed;
	try {
		parsed = JSON.parse(data);
	} catch (e) {
		return data;
	}
	if (!parsed || !Array.isArray(parsed.changed)) return data;
	parsed.changed = parsed.changed.map(([fieldname, before, after]) => [
		fieldname,
		simple_crm.words.value(doctype, fieldname, before),
		simple_crm.words.value(doctype, fieldname, after),
	]);
	return JSON.stringify(parsed);
};

// Frappe builds the history lines from the versions' stored values: they are given the shown words for that
// moment only (the versions themselves are left as they came)
simple_crm.words.translate_timeline = function (frm) {
	const timeline = frm.timeline;
	if (!timeline || timeline.simple_crm_words) return false;
	const build = timeline.get_version_timeline_contents;
	timeline.get_version_timeline_contents = function () {
		const versions = (this.doc_info && this.doc_info.versions) || [];
		const stored = versions.map((version) => version.data);
		versions.forEach((version) => {
			version.data = simple_crm.words.translate_version(this.frm.doctype, version.data);
		});
		try {
			return build.call(this);
		} finally {
			versions.forEach((version, i) => {
				version.data = stored[i];
			});
		}
	};
	timeline.simple_crm_words = true;
	return true;
};

for (const doctype of simple_crm.words.TIMELINE_DOCTYPES) {
	frappe.ui.form.on(doctype, {
		refresh(frm) {
			// the form's first timeline was drawn before: drawn again with the words
			if (simple_crm.words.translate_timeline(frm)) frm.timeline.refresh();
		},
	});
}
