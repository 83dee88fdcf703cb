// Copyright (c) 2026, simple_crm developers and contributors
// For license information, please see license.txt

frappe.provide("simple_crm.deal_kanban");

frappe.listview_settings["CRM Deal"] = {
	add_fields: ["stage", "stage_type", "amount", "currency", "client", "responsible", "pipeline"],
	// the title is the link to the record: its code takes room from the columns people read
	hide_name_column: true,
	get_indicator(doc) {
		const colour = { Won: "green", Lost: "red" }[doc.stage_type] || "blue";
		return [__(doc.stage), colour, `stage,=,${doc.stage}`];
	},
	formatters: {
		// people by their names, not their e-mail addresses (public/js/people.js)
		responsible: (value) => simple_crm.people.formatter(value),
	},
	refresh(listview) {
		if (listview.view_name === "Kanban") simple_crm.deal_kanban.decorate(listview);
	},
};

// A deals board loads its cards through simple_crm.kanban.board_cards: the first cards of each column (Frappe's
// kanban would load every deal of the board) and each column's number of deals and amounts, kept as
// `__crm_columns` for the column totals below; and with every field the cards show.
if (frappe.views.KanbanView && !frappe.views.KanbanView.prototype.__crm_deal_cards) {
	const kanban = frappe.views.KanbanView.prototype;
	const get_call_args = kanban.get_call_args;
	kanban.get_call_args = function () {
		const call = get_call_args.call(this);
		if (this.doctype === "CRM Deal") call.method = "simple_crm.kanban.board_cards";
		return call;
	};
	const prepare_data = kanban.prepare_data;
	kanban.prepare_data = function (r) {
		if (this.doctype === "CRM Deal") this.__crm_columns = (r.message && r.message.crm_columns) || {};
		return prepare_data.call(this, r);
	};
	// Frappe's kanban does not wait for the list's fields: a link shown by its title (the deal's client by its
	// name) is added once the linked doctype's meta is loaded, after the first cards were asked for without it
	const set_fields = kanban.set_fields;
	kanban.set_fields = function () {
		if (this.doctype !== "CRM Deal") return set_fields.call(this);
		return frappe.views.ListView.prototype.set_fields
			.call(this)
			.then(() => this._add_field(this.card_meta.title_field));
	};
	kanban.__crm_deal_cards = true;
}

// The deals kanban as a sales person reads it: each card with its amount, client, responsible manager and next
// open task; each column with its number of deals and their total amount, and a link to the deals it has no
// card for. Frappe's board redraws its cards after every move, so the board is watched and what is missing is
// added again.
simple_crm.deal_kanban.decorate = function (listview) {
	const state = (listview.__crm_kanban = listview.__crm_kanban || { tasks: {} });
	state.deals = {};
	(listview.data || []).forEach((row) => (state.deals[row.name] = row));
	state.hidden = simple_crm.deal_kanban.hidden_deals(listview.__crm_columns || {}, listview.data || []);
	simple_crm.deal_kanban.load_next_tasks(state).then((tasks) => {
		// the data of this refresh: cards drawn with the earlier data are drawn again
		state.tasks = tasks;
		listview.$result.find(".crm-card-details").remove();
		simple_crm.deal_kanban.render(listview, state);
		if (!state.observer) {
			// the page, not only the board: "Select Kanban" is filled in when the boards are loaded
			const page = listview.page.wrapper.get(0);
			let pending = null;
			state.observer = new MutationObserver(() => {
				clearTimeout(pending);
				pending = setTimeout(() => simple_crm.deal_kanban.render(listview, state), 50);
			});
			state.observer.observe(page, { childList: true, subtree: true });
		}
	});
};

// The next open task of each deal on the board (the earliest due), as the user lists tasks.
simple_crm.deal_kanban.load_next_tasks = function (state) {
	const names = Object.keys(state.deals);
	const next = {};
	if (!names.length) return Promise.resolve(next);
	return frappe
		.xcall("frappe.client.get_list", {
			doctype: "CRM Task",
			fields: ["name", "subject", "due_on", "reference_name"],
			filters: {
				reference_doctype: "CRM Deal",
				reference_name: ["in", names],
				status: ["in", ["Open", "In Progress"]],
			},
			order_by: "due_on asc",
			limit_page_length: 0,
		})
		.then((tasks) => {
			// tasks without a due date come last (MariaDB sorts NULL first)
			const dated = tasks.filter((t) => t.due_on).concat(tasks.filter((t) => !t.due_on));
			dated.forEach((task) => {
				if (!next[task.reference_name]) next[task.reference_name] = task;
			});
			return next;
		});
};

simple_crm.deal_kanban.render = function (listview, state) {
	simple_crm.deal_kanban.translate_switcher(listview);
	const $board = listview.$result;
	$board.find(".kanban-card-wrapper").each(function () {
		const $card = $(this);
		if ($card.find(".crm-card-details").length) return;
		const deal = state.deals[decodeURIComponent($card.attr("data-name"))];
		if (!deal) return;
		$card.find(".kanban-card-doc").append(simple_crm.deal_kanban.card_html(deal, state));
	});
	$board.find(".kanban-column[data-column-value]").each(function () {
		simple_crm.deal_kanban.column_total($(this), state);
		simple_crm.deal_kanban.more_link(listview, $(this), state);
	});
};

// Per stage, the deals counted on the server that came without a card: {stage: {count, amounts: {currency}}}.
simple_crm.deal_kanban.hidden_deals = function (columns, cards) {
	const hidden = {};
	Object.keys(columns).forEach((stage) => {
		hidden[stage] = { count: columns[stage].count, amounts: { ...columns[stage].amounts } };
	});
	cards.forEach((deal) => {
		const column = hidden[deal.stage];
		if (!column) return;
		column.count -= 1;
		if (deal.amount) {
			const currency = deal.currency || "";
			column.amounts[currency] = (column.amounts[currency] || 0) - flt(deal.amount);
		}
	});
	return hidden;
};

// "N more deals: open as a list" under the total of a column that has more deals than cards: the list of the
// stage's deals, with the board's filters.
simple_crm.deal_kanban.more_link = function (listview, $column, state) {
	const stage = $column.attr("data-column-value");
	const hidden = (state.hidden || {})[stage];
	const count = hidden ? hidden.count : 0;
	let $more = $column.find(".crm-column-more");
	if (count <= 0) {
		$more.remove();
		return;
	}
	const text = __("{0} more deals: open as a list", [format_number(count, null, 0)]);
	if (!$more.length) {
		$more = $(`<a class="crm-column-more small" href="#"></a>`)
			.css({ width: "100%", "padding-left": "var(--padding-sm)" })
			.on("click", (event) => {
				event.preventDefault();
				const options = {};
				listview.filter_area.get().forEach((f) => (options[f[1]] = [f[2], f[3]]));
				options.stage = stage;
				frappe.route_options = options;
				frappe.set_route("List", "CRM Deal", "List");
			});
		// under the column's total, where it is seen whatever the number of cards
		$column.find(".kanban-column-header").append($more);
	}
	if ($more.text() !== text) $more.text(text);
};

simple_crm.deal_kanban.card_html = function (deal, state) {
	const esc = frappe.utils.escape_html;
	const line = (field, label, value, extra_class) =>
		value
			? `<div class="crm-card-${field} text-truncate ${extra_class || ""}" title="${esc(
					label
			  )}">${value}</div>`
			: "";
	const task = state.tasks[deal.name];
	let task_html = `<span class="text-muted">${__("No open task")}</span>`;
	if (task) {
		const overdue = task.due_on && frappe.datetime.get_diff(task.due_on, frappe.datetime.now_datetime()) < 0;
		// the due date and time without seconds
		const due = task.due_on
			? ` · ${esc(frappe.datetime.str_to_user(task.due_on).replace(/:\d\d$/, ""))}`
			: "";
		task_html = `<a href="/app/crm-task/${encodeURIComponent(task.name)}" class="${
			overdue ? "text-danger" : ""
		}">${esc(task.subject)}${due}</a>`;
	}
	return `<div class="crm-card-details small">
		${line("amount", __("Amount"), deal.amount ? format_currency(deal.amount, deal.currency) : "")}
		${line("client", __("Client"), esc(deal.client_client_name || deal.client || ""))}
		${line("responsible", __("Responsible"), simple_crm.people.formatter(deal.responsible))}
		${line("next-task", __("Next Task"), task_html)}
	</div>`;
};

// "N deals · total" under the column's title, amounts per currency: the cards in the column now and the deals of
// the stage that have no card.
simple_crm.deal_kanban.column_total = function ($column, state) {
	const hidden = (state.hidden || {})[$column.attr("data-column-value")] || { count: 0, amounts: {} };
	const totals = {};
	Object.keys(hidden.amounts).forEach((currency) => {
		if (Math.abs(hidden.amounts[currency]) > 0.001) totals[currency] = hidden.amounts[currency];
	});
	let count = Math.max(hidden.count, 0);
	$column.find(".kanban-cards .kanban-card-wrapper").each(function () {
		const deal = state.deals[decodeURIComponent($(this).attr("data-name"))];
		count += 1;
		if (deal && deal.amount) {
			const currency = deal.currency || "";
			totals[currency] = (totals[currency] || 0) + flt(deal.amount);
		}
	});
	const amounts = Object.keys(totals)
		.sort()
		.map((currency) => format_currency(totals[currency], currency || null))
		.join(", ");
	const text = amounts ? `${count} · ${amounts}` : `${count}`;
	let $total = $column.find(".kanban-column-header .crm-column-total");
	if (!$total.length) {
		$total = $(`<div class="crm-column-total text-muted small"></div>`).appendTo(
			$column.find(".kanban-column-header")
		);
		$column.find(".kanban-column-header").css("flex-wrap", "wrap");
		$total.css({ width: "100%", "padding-left": "var(--padding-sm)" });
	}
	if ($total.attr("data-count") !== String(count) || $total.text() !== text) {
		$total.attr("data-count", count).attr("title", __("Deals and their amount")).text(text);
	}
};

// Frappe lists the boards in "Select Kanban" by their names as stored: shown here in the user's language (a
// pipeline's board is named after the pipeline, a shipped master with a Russian name).
simple_crm.deal_kanban.translate_switcher = function (listview) {
	const label = __("Select Kanban");
	listview.page.wrapper.find(".custom-btn-group").each(function () {
		const $group = $(this);
		if ($group.find(".custom-btn-group-label").first().text().trim() !== label) return;
		$group.find(".dropdown-item .menu-item-label").each(function () {
			const $label = $(this);
			if ($label.attr("data-crm-translated")) return;
			$label.attr("data-crm-translated", 1).text(__($label.text().trim()));
		});
	});
};
