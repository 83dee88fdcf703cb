# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

# import frappe
from frappe.model.document import Document


class CRMSalesTeam(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF
		from simple_crm.simple_crm.doctype.crm_sales_team_member.crm_sales_team_member import (
			CRMSalesTeamMember,
		)

		disabled: DF.Check
		head: DF.Link
		members: DF.Table[CRMSalesTeamMember]
		team_name: DF.Data
	# end: auto-generated types
	pass
