import frappe

from simple_crm.integrations import web_to_lead


def get_context(context):
	# never kept in the website's page cache: the page follows the channel's switch at once
	context.no_cache = 1
	# the page is there while the channel accepts inquiries
	if not web_to_lead.accepting():
		raise frappe.PageDoesNotExistError
