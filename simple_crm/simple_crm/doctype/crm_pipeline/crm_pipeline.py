# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import flt

from simple_crm import kanban, pipelines, stage_rules, workflows


class PipelineStageError(frappe.ValidationError):
	"""The stages of a pipeline are inconsistent (names, types or probabilities)."""


class DefaultPipelineError(frappe.ValidationError):
	pass


class StageInUseError(frappe.ValidationError):
	pass


class PipelineInUseError(frappe.LinkExistsError):
	pass


DEFAULT_PROBABILITY = {pipelines.WON: 100, pipelines.LOST: 0}


class CRMPipeline(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF
		from simple_crm.simple_crm.doctype.crm_pipeline_stage.crm_pipeline_stage import CRMPipelineStage

		disabled: DF.Check
		is_default: DF.Check
		pipeline_name: DF.Data
		stages: DF.Table[CRMPipelineStage]
	# end: auto-generated types

	def validate(self):
		self.clean_stage_names()
		self.validate_unique_stage_names()
		self.validate_stage_types()
		self.set_default_probabilities()
		self.validate_probabilities()
		self.set_stage_rules()
		self.validate_default_flag()
		self.validate_removed_stages()
		self.validate_retyped_stages()

	def onload(self):
		# what the stage rule pickers offer (crm_pipeline.js): the CRM's roles and the deal fields a stage can require
		self.set_onload("stage_rule_choices", stage_rules.rule_choices())

	def on_update(self):
		self.make_other_pipelines_not_default()
		pipelines.sync_deal_stage_options()
		if not self.flags.from_workflow:
			# a stage added in the Workflow form already has its state there (and its moves, if any)
			workflows.sync_deal_workflow()

	def on_trash(self):
		self.validate_not_in_use()
		kanban.delete_board(self.name)

	def after_rename(self, old_name, new_name, merge=False):
		# the board's link follows the rename; its filter names the pipeline and is set anew
		pipelines.sync_deal_stage_options()
		# the workflow's moves name the pipeline in their condition
		workflows.sync_deal_workflow()

	def after_delete(self):
		pipelines.sync_deal_stage_options()
		workflows.sync_deal_workflow()

	def clean_stage_names(self):
		for stage in self.stages:
			stage.stage_name = (stage.stage_name or "").strip()

	def validate_unique_stage_names(self):
		seen = set()
		for stage in self.stages:
			key = stage.stage_name.casefold()
			if key in seen:
				frappe.throw(
					_("Row #{0}: stage {1} appears twice in the pipeline").format(
						stage.idx, frappe.bold(stage.stage_name)
					),
					PipelineStageError,
					title=_("Duplicate Stage"),
				)
			seen.add(key)

	def validate_stage_types(self):
		types = [stage.stage_type for stage in self.stages]
		if pipelines.OPEN not in types:
			frappe.throw(_("A pipeline needs at least one stage of type Open"), PipelineStageError)
		if types.count(pipelines.WON) != 1:
			frappe.throw(
				_("A pipeline needs exactly one stage of type Won, found {0}").format(
					types.count(pipelines.WON)
				),
				PipelineStageError,
			)
		if pipelines.LOST not in types:
			frappe.throw(_("A pipeline needs at least one stage of type Lost"), PipelineStageError)

	def set_default_probabilities(self):
		for stage in self.stages:
			if stage.probability is None and stage.stage_type in DEFAULT_PROBABILITY:
				stage.probability = DEFAULT_PROBABILITY[stage.stage_type]

	def validate_probabilities(self):
		for stage in self.stages:
			if not 0 <= flt(stage.probability) <= 100:
				frappe.throw(
					_("Row #{0}: the probability of stage {1} must be between 0 and 100, got {2}").format(
						stage.idx, frappe.bold(stage.stage_name), stage.probability
					),
					PipelineStageError,
				)

	def set_stage_rules(self):
		"""Each stage's rules as typed (roles and deal fields, in English or Russian) are kept as Frappe's names;
		an unknown role or field is refused before anything is saved."""
		for stage in self.stages:
			stage.allowed_roles = (
				stage_rules.join(stage_rules.parse_roles(stage.allowed_roles, stage.stage_name)) or None
			)
			stage.required_fields = (
				stage_rules.join(stage_rules.parse_fields(stage.required_fields, stage.stage_name)) or None
			)

	def validate_default_flag(self):
		"""There is always exactly one default pipeline: the first one is, and it cannot be unset."""
		others_default = frappe.db.exists("CRM Pipeline", {"is_default": 1, "name": ("!=", self.name or "")})
		if not self.is_default and not others_default:
			if self.is_new():
				self.is_default = 1
			else:
				frappe.throw(
					_("Pipeline {0} is the default one; make another pipeline the default instead").format(
						frappe.bold(self.name)
					),
					DefaultPipelineError,
				)
		if self.is_default and self.disabled:
			frappe.throw(_("The default pipeline cannot be disabled"), DefaultPipelineError)

	def validate_removed_stages(self):
		"""A stage deals are in cannot be removed or renamed."""
		before = self.get_doc_before_save()
		if not before:
			return
		current = {stage.stage_name for stage in self.stages}
		removed = [stage.stage_name for stage in before.stages if stage.stage_name not in current]
		if not removed:
			return
		in_use = frappe.get_all(
			"CRM Deal",
			filters={"pipeline": self.name, "stage": ("in", removed)},
			fields=["stage", "count(name) as deals"],
			group_by="stage",
		)
		if in_use:
			frappe.throw(
				_(
					"Stages in use cannot be removed or renamed: {0}. Move the deals to another stage first."
				).format(
					", ".join(
						_("{0} ({1} deals)").format(frappe.bold(row.stage), row.deals) for row in in_use
					)
				),
				StageInUseError,
				title=_("Stage in Use"),
			)

	def validate_retyped_stages(self):
		"""A stage deals are in keeps its type (Open, Won, Lost): the deals in it were won, lost or left open by it,
		with their dates and reasons."""
		before = self.get_doc_before_save()
		if not before:
			return
		types = {stage.stage_name: stage.stage_type for stage in before.stages}
		retyped = [
			stage.stage_name
			for stage in self.stages
			if stage.stage_name in types and types[stage.stage_name] != stage.stage_type
		]
		if retyped and pipelines.count_deals(self.name, retyped):
			frappe.throw(
				_(
					"The type of a stage in use cannot be changed: {0}. Move the deals to another stage first."
				).format(", ".join(frappe.bold(name) for name in retyped)),
				StageInUseError,
				title=_("Stage in Use"),
			)

	def make_other_pipelines_not_default(self):
		"""Setting a pipeline as default unsets the others; Simple CRM Settings follows."""
		if not self.is_default:
			return
		table = frappe.qb.DocType("CRM Pipeline")
		(
			frappe.qb.update(table)
			.set(table.is_default, 0)
			.where((table.is_default == 1) & (table.name != self.name))
			.run()
		)
		if frappe.db.get_single_value("Simple CRM Settings", "default_pipeline") != self.name:
			frappe.db.set_single_value("Simple CRM Settings", "default_pipeline", self.name)

	def validate_not_in_use(self):
		deals = pipelines.count_deals(self.name)
		if deals:
			frappe.throw(
				_("Pipeline {0} cannot be deleted: {1} deals are in it").format(
					frappe.bold(self.name), deals
				),
				PipelineInUseError,
				title=_("Pipeline in Use"),
			)
		if self.is_default:
			frappe.throw(
				_(
					"Pipeline {0} is the default one; make another pipeline the default before deleting it"
				).format(frappe.bold(self.name)),
				PipelineInUseError,
			)
