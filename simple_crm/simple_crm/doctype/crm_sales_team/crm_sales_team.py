# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document

from simple_crm.permissions import HEAD_OF_SALES


class SalesTeamError(frappe.ValidationError):
	pass


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

	def validate(self):
		self.validate_head()
		self.validate_members()

	def validate_head(self):
		"""The head sees the team's records through the role CRM Head of Sales; without it they see nothing."""
		if HEAD_OF_SALES not in frappe.get_roles(self.head):
			frappe.throw(
				_("{0} leads a sales team and needs the role {1}").format(
					frappe.bold(self.head), frappe.bold(_(HEAD_OF_SALES))
				),
				SalesTeamError,
			)

	def validate_members(self):
		seen = set()
		for row in self.members:
			if row.user == self.head:
				frappe.throw(
					_("Row #{0}: {1} is the head of the team, not a member").format(
						row.idx, frappe.bold(row.user)
					),
					SalesTeamError,
				)
			if row.user in seen:
				frappe.throw(
					_("Row #{0}: {1} is listed twice").format(row.idx, frappe.bold(row.user)), SalesTeamError
				)
			seen.add(row.user)
