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

// "New {0}" and "Add {0}" glued to a record's name read wrong in Russian ("Новый Сделка", "Добавить Сделка"):
// for the CRM's records the whole phrase is translated ("New CRM Deal" is "Новая сделка", "Add CRM Deal"
// "Добавить сделку"); a language without the phrase keeps Frappe's glued words
simple_crm.words.PHRASE_DOCTYPES = [
	"CRM Lead",
	"CRM Client",
	"CRM Counterparty",
	"CRM Deal",
	"CRM Task",
	"CRM Call",
	"CRM Complaint",
	"CRM Order",
	"CRM Pipeline",
	"CRM Lost Reason",
	"CRM Lead Source",
	"CRM Client Segment",
	"CRM Complaint Category",
	"CRM Sales Target",
	"CRM Sales Team",
	"CRM Product",
	"CRM Hand Over",
];
simple_crm.words.PHRASES = ["New {0}", "Add {0}"];

const simple_crm_translate = frappe._;
// the doctype whose name, in the user's language, is `label`
simple_crm.words.doctype_named = function (label) {
	return simple_crm.words.PHRASE_DOCTYPES.find((doctype) => simple_crm_translate(doctype) === label);
};
frappe._ = function (txt, replace, context = null) {
	if (Array.isArray(replace) && replace.length === 1 && simple_crm.words.PHRASES.includes(txt)) {
		const doctype = simple_crm.words.doctype_named(replace[0]);
		if (doctype) {
			const phrase = txt.replace("{0}", doctype);
			const translated = simple_crm_translate(phrase, null, context);
			if (translated !== phrase) return translated;
		}
	}
	return simple_crm_translate(txt, replace, context);
};
window.__ = frappe._;

// the list's primary button is "Add" and the name glued together by Frappe: the phrase instead
if (frappe.views && frappe.views.ListView) {
	const set_primary_action = frappe.views.ListView.prototype.set_primary_action;
	frappe.views.ListView.prototype.set_primary_action = function () {
		if (!simple_crm.words.PHRASE_DOCTYPES.includes(this.doctype) || !this.page) {
			return set_primary_action.call(this);
		}
		const page = this.page;
		const label = __("Add {0}", [__(frappe.router.doctype_layout || this.doctype)]);
		page.set_primary_action = function (_label, ...rest) {
			return Object.getPrototypeOf(page).set_primary_action.call(page, label, ...rest);
		};
		try {
			return set_primary_action.call(this);
		} finally {
			delete page.set_primary_action;
		}
	};
}
