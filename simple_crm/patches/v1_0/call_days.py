"""Calls per manager and day (CRM Call Day), counted from the calls a site already has."""

from simple_crm.call_days import rebuild


def execute():
	rebuild()
