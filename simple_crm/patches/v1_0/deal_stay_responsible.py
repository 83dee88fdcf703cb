"""Stays written before they named their deal's responsible manager today get it (see
simple_crm.stage_history.fill_deal_responsible; rerunnable)."""

from simple_crm.stage_history import fill_deal_responsible


def execute():
	fill_deal_responsible()
