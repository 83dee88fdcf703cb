import frappe

from simple_crm.integrations import web_to_lead


def get_context(context):
	# the page is there while the channel accepts inquiries
	if not web_to_lead.accepting():
		raise frappe.PageDoesNotExistError
