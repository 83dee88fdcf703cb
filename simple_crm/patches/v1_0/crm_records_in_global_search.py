"""The CRM's records in the Desk's search bar on sites installed before it was set up at install."""

from simple_crm.install import add_to_global_search


def execute():
	add_to_global_search()
