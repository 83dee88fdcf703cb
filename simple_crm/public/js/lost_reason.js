// The lost or disqualification reason, asked for when a deal or a lead is moved into a lost state: from the
// form's workflow action and from a drop on the kanban. Nothing is saved without a reason; the reasons are
// listed in the user's language.
frappe.provide("simple_crm.lost_reason");

// the lead states that need a reason (simple_crm.simple_crm.doctype.crm_lead.crm_lead.LOST_STATUSES)
simple_crm.lost_reason.LEAD_STATES = ["Lost", "Disqualified"];
simple_crm.lost_reason.APPLIES_TO = { "CRM Lead": "Lead", "CRM Deal": "Deal" };

// Resolves to {lost_reason, lost_comment}, or to null when the user closes the dialog.
simple_crm.lost_reason.ask = function ({ doctype, target, reason, comment }) {
	const applies_to = simple_crm.lost_reason.APPLIES_TO[doctype];
	return frappe
		.xcall("frappe.client.get_list", {
			doctype: "CRM Lost Reason",
			fields: ["name"],
			filters: { disabled: 0, applies_to: ["in", ["Lead and Deal", applies_to]] },
			limit_page_length: 0,
		})
		.then((rows) => {
			const options = rows
				.map((row) => ({ value: row.name, label: __(row.name) }))
				.sort((a, b) => a.label.localeCompare(b.label));
			return new Promise((resolve) => {
				let answered = false;
				const dialog = new frappe.ui.Dialog({
					title:
						doctype === "CRM Lead"
							? __("Why is the lead disqualified?")
							: __("Why is the deal lost?"),
					fields: [
						{
							fieldtype: "HTML",
							fieldname: "intro",
							options: `<p class="text-muted">${__("Moving to {0}", [
								`<b>${frappe.utils.escape_html(__(target, null, doctype))}</b>`,
							])}</p>`,
						},
						{
							fieldname: "lost_reason",
							fieldtype: "Select",
							label: __("Lost Reason"),
							options: [{ value: "", label: "" }, ...options],
							default: reason || "",
							reqd: 1,
						},
						{
							fieldname: "lost_comment",
							fieldtype: "Small Text",
							label: __("Comment"),
							default: comment || "",
						},
					],
					primary_action_label: __("Save"),
					primary_action(values) {
						answered = true;
						dialog.hide();
						resolve({
							lost_reason: values.lost_reason,
							lost_comment: values.lost_comment || "",
						});
					},
				});
				dialog.onhide = () => {
					if (!answered) resolve(null);
				};
				dialog.show();
			});
		});
};

// Form event before_workflow_action: when the action leads to a lost state, the reason is asked for and saved
// before the action runs; a closed dialog stops the action (the promise never settles, nothing is sent).
simple_crm.lost_reason.before_workflow_action = function (frm, is_lost_state) {
	const workflow = frappe.workflow.workflows[frm.doctype];
	if (!workflow) return;
	const state_field = workflow.workflow_state_field;
	const transition = (workflow.transitions || []).find(
		(t) => t.state === frm.doc[state_field] && t.action === frm.selected_workflow_action
	);
	if (!transition || !is_lost_state(transition.next_state)) return;
	frappe.dom.unfreeze();
	return simple_crm.lost_reason
		.ask({
			doctype: frm.doctype,
			target: transition.next_state,
			reason: frm.doc.lost_reason,
			comment: frm.doc.lost_comment,
		})
		.then((answer) => {
			if (!answer) return new Promise(() => {});
			frappe.dom.freeze();
			// Frappe's action reloads the record before it moves it: the reason is saved first (an open record
			// keeps a reason given before it is lost), then the action checks and moves it
			return frappe.xcall("frappe.client.set_value", {
				doctype: frm.doctype,
				name: frm.doc.name,
				fieldname: answer,
			});
		});
};

// The kanban: a card dropped into a lost column first asks for the reason, which goes with the move; a closed
// dialog puts the card back. Frappe's board offers no hook there, so its one request is wrapped here.
simple_crm.lost_reason.KANBAN_MOVE = "frappe.desk.doctype.kanban_board.kanban_board.update_order_for_single_card";

simple_crm.lost_reason.is_lost_column = function (doctype, name, column) {
	if (doctype === "CRM Lead") {
		return Promise.resolve(simple_crm.lost_reason.LEAD_STATES.includes(column));
	}
	return frappe.db
		.get_value("CRM Deal", name, "pipeline")
		.then((r) =>
			frappe.call({
				method: "simple_crm.api.deal.pipeline_stages",
				type: "GET",
				args: { pipeline: (r.message || {}).pipeline || "" },
			})
		)
		.then((r) =>
			(r.message || []).some((s) => s.stage_name === column && s.stage_type === "Lost")
		);
};

(function () {
	const original_call = frappe.call;
	frappe.call = function (opts, ...rest) {
		if (!opts || typeof opts !== "object" || opts.method !== simple_crm.lost_reason.KANBAN_MOVE) {
			return original_call.call(this, opts, ...rest);
		}
		const route = (frappe.get_route && frappe.get_route()) || [];
		const doctype = route[0] === "List" && route[2] === "Kanban" ? route[1] : null;
		if (!simple_crm.lost_reason.APPLIES_TO[doctype] || !opts.args || opts.args.lost_reason) {
			return original_call.call(this, opts, ...rest);
		}
		const args = opts.args;
		const answer = $.Deferred();
		simple_crm.lost_reason
			.is_lost_column(doctype, args.docname, args.to_colname)
			.then((lost) => {
				if (!lost) return { lost_reason: null };
				frappe.dom.unfreeze();
				return simple_crm.lost_reason.ask({ doctype, target: args.to_colname });
			})
			.then((reason) => {
				if (!reason) {
					// closed: the board puts the card back
					answer.reject();
					return;
				}
				const call_args = reason.lost_reason ? { ...args, ...reason } : args;
				original_call
					.call(this, { ...opts, args: call_args })
					.done((r) => answer.resolve(r))
					.fail((...e) => answer.reject(...e));
			})
			.catch(() => answer.reject());
		return answer.promise();
	};
})();
