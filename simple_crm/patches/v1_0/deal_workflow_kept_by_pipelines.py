"""The Deal workflow's moves between stages become the pipelines' own (each with its pipeline's condition and the
roles its stages let in: simple_crm.workflows.sync_deal_workflow). The moves the app made before are replaced by
the same moves per pipeline; transitions an administrator added in the Workflow form stay."""

from simple_crm.workflows import sync_deal_workflow


def execute():
	sync_deal_workflow()
