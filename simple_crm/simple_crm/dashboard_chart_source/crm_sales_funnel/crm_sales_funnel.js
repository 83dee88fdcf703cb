// The workspace's funnel chart: deals reached per stage this year, as the "CRM Sales Funnel" report counts
// them (simple_crm.dashboards.sales_funnel_chart); the filter picks another pipeline.
frappe.provide("frappe.dashboards.chart_sources");

frappe.dashboards.chart_sources["CRM Sales Funnel"] = {
	method: "simple_crm.dashboards.sales_funnel_chart",
	filters: [
		{
			fieldname: "pipeline",
			label: __("Pipeline"),
			fieldtype: "Link",
			options: "CRM Pipeline",
			description: __("The default pipeline when empty"),
		},
	],
};
