"""The sales funnel's columns for deals and stays written before they existed: each stay's deal creation,
each deal's furthest open stage (see simple_crm.stage_history.fill_funnel_columns; rerunnable)."""

from simple_crm.stage_history import fill_funnel_columns


def execute():
	fill_funnel_columns()
