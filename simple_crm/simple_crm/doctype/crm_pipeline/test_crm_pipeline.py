# Copyright (c) 2026, simple_crm developers and contributors
# For license information, please see license.txt

import frappe

from simple_crm import pipelines
from simple_crm.install import DEFAULT_PIPELINE, after_migrate
from simple_crm.simple_crm.doctype.crm_pipeline.crm_pipeline import (
	DefaultPipelineError,
	PipelineInUseError,
	PipelineStageError,
	StageInUseError,
)
from simple_crm.tests.factories import make_client, make_deal, make_pipeline, make_user, unique
from simple_crm.tests.utils import CRMRestTestCase, CRMTestCase


def stage_options() -> list[str]:
	frappe.clear_cache(doctype="CRM Deal")
	options = frappe.get_meta("CRM Deal").get_field("stage").options.split("\n")
	assert options[0] == "", "a blank first option keeps Frappe from presetting the stage"
	return options[1:]


class TestCRMPipeline(CRMTestCase):
	def test_stage_defaults_and_order(self):
		pipeline = make_pipeline(
			stages=[
				("Qualification", "Open", 20),
				("Proposal", "Open", None),
				("Won", "Won", None),
				("Lost", "Lost", None),
			]
		)
		self.assertEqual(
			[(s.stage_name, s.stage_type, s.probability) for s in pipelines.get_stages(pipeline.name)],
			[
				("Qualification", "Open", 20),
				("Proposal", "Open", 0),
				("Won", "Won", 100),
				("Lost", "Lost", 0),
			],
		)

	def test_stage_names_are_unique_ignoring_case(self):
		with self.assertRaisesRegex(PipelineStageError, "appears twice"):
			make_pipeline(
				stages=[
					("Proposal", "Open", 10),
					("proposal ", "Open", 20),
					("Won", "Won", 100),
					("Lost", "Lost", 0),
				]
			)

	def test_stage_types(self):
		cases = {
			"no open stage": [("Won", "Won", 100), ("Lost", "Lost", 0)],
			"no won stage": [("Open", "Open", 10), ("Lost", "Lost", 0)],
			"two won stages": [
				("Open", "Open", 10),
				("Won", "Won", 100),
				("Won Too", "Won", 100),
				("Lost", "Lost", 0),
			],
			"no lost stage": [("Open", "Open", 10), ("Won", "Won", 100)],
		}
		for case, stages in cases.items():
			with self.subTest(case), self.assertRaises(PipelineStageError):
				make_pipeline(stages=stages)

	def test_probability_between_0_and_100(self):
		for probability in (-1, 101):
			with self.subTest(probability), self.assertRaisesRegex(PipelineStageError, "between 0 and 100"):
				make_pipeline(
					stages=[("Open", "Open", probability), ("Won", "Won", 100), ("Lost", "Lost", 0)]
				)

	def test_one_default_pipeline_and_settings_follow(self):
		pipeline = make_pipeline(is_default=1)
		self.assertEqual(frappe.db.get_value("CRM Pipeline", DEFAULT_PIPELINE, "is_default"), 0)
		self.assertEqual(frappe.db.count("CRM Pipeline", {"is_default": 1}), 1)
		self.assertEqual(frappe.db.get_single_value("Simple CRM Settings", "default_pipeline"), pipeline.name)
		# the default pipeline's stages come first in the stage options
		self.assertEqual(stage_options()[: len(pipeline.stages)], [s.stage_name for s in pipeline.stages])

	def test_default_cannot_be_unset_or_disabled(self):
		sales = frappe.get_doc("CRM Pipeline", DEFAULT_PIPELINE)
		sales.is_default = 0
		with self.assertRaises(DefaultPipelineError):
			sales.save()
		sales.reload()
		sales.disabled = 1
		with self.assertRaises(DefaultPipelineError):
			sales.save()

	def test_new_pipeline_is_not_default_unless_asked(self):
		pipeline = make_pipeline()
		self.assertEqual(pipeline.is_default, 0)
		self.assertEqual(
			frappe.db.get_single_value("Simple CRM Settings", "default_pipeline"), DEFAULT_PIPELINE
		)

	def test_settings_choose_the_default_pipeline(self):
		pipeline = make_pipeline()
		settings = frappe.get_single("Simple CRM Settings")
		settings.default_pipeline = pipeline.name
		settings.save()
		self.assertEqual(frappe.db.get_value("CRM Pipeline", pipeline.name, "is_default"), 1)
		self.assertEqual(frappe.db.get_value("CRM Pipeline", DEFAULT_PIPELINE, "is_default"), 0)

	def test_stage_options_are_the_union_of_all_stages(self):
		make_pipeline(
			stages=[("Demo", "Open", 30), ("Contract", "Open", 60), ("Won", "Won", 100), ("Lost", "Lost", 0)]
		)
		self.assertEqual(
			stage_options(),
			["Qualification", "Needs Analysis", "Proposal", "Negotiation", "Won", "Lost", "Demo", "Contract"],
		)

	def test_stage_added_later_becomes_an_option_and_a_kanban_column(self):
		from frappe.desk.doctype.kanban_board.kanban_board import quick_kanban_board

		board = quick_kanban_board("CRM Deal", unique("Deals "), "stage")
		sales = frappe.get_doc("CRM Pipeline", DEFAULT_PIPELINE)
		sales.append("stages", {"stage_name": "Pilot Project", "stage_type": "Open", "probability": 60})
		sales.save()

		self.assertIn("Pilot Project", stage_options())
		self.assertEqual(pipelines.stage_options_setter().split("\n")[1:], pipelines.all_stage_names())
		columns = {c.column_name: c.status for c in frappe.get_doc("Kanban Board", board.name).columns}
		self.assertEqual(columns.get("Pilot Project"), "Active")

		# and a removed stage goes away again (its kanban column is archived)
		sales.reload()
		sales.stages = [s for s in sales.stages if s.stage_name != "Pilot Project"]
		sales.save()
		self.assertNotIn("Pilot Project", stage_options())
		columns = {c.column_name: c.status for c in frappe.get_doc("Kanban Board", board.name).columns}
		self.assertEqual(columns.get("Pilot Project"), "Archived")

	def test_stage_in_use_cannot_be_removed_or_renamed(self):
		pipeline = make_pipeline()
		deal = make_deal(make_client().name, pipeline=pipeline.name)
		deal.stage = "Proposal"
		deal.save()

		pipeline.reload()
		pipeline.stages = [s for s in pipeline.stages if s.stage_name != "Proposal"]
		with self.assertRaisesRegex(StageInUseError, "Proposal"):
			pipeline.save()

		pipeline.reload()
		pipeline.stages[1].stage_name = "Commercial Offer"
		with self.assertRaises(StageInUseError):
			pipeline.save()

		# an unused stage can go
		pipeline.reload()
		pipeline.append("stages", {"stage_name": "Unused", "stage_type": "Lost", "probability": 0})
		pipeline.save()
		pipeline.stages = [s for s in pipeline.stages if s.stage_name != "Unused"]
		pipeline.save()
		self.assertNotIn("Unused", [s.stage_name for s in pipelines.get_stages(pipeline.name)])

	def test_pipeline_with_deals_cannot_be_deleted(self):
		pipeline = make_pipeline()
		make_deal(make_client().name, pipeline=pipeline.name)
		with self.assertRaisesRegex(PipelineInUseError, "1 deals"):
			frappe.delete_doc("CRM Pipeline", pipeline.name)
		self.assertTrue(frappe.db.exists("CRM Pipeline", pipeline.name))
		self.assertTrue(issubclass(PipelineInUseError, frappe.LinkExistsError))

	def test_unused_pipeline_can_be_deleted_and_its_stages_leave_the_options(self):
		pipeline = make_pipeline(stages=[("Demo", "Open", 30), ("Won", "Won", 100), ("Lost", "Lost", 0)])
		self.assertIn("Demo", stage_options())
		frappe.delete_doc("CRM Pipeline", pipeline.name)
		self.assertFalse(frappe.db.exists("CRM Pipeline", pipeline.name))
		self.assertNotIn("Demo", stage_options())

	def test_default_pipeline_cannot_be_deleted(self):
		with self.assertRaises(PipelineInUseError):
			frappe.delete_doc("CRM Pipeline", DEFAULT_PIPELINE)

	def test_install_leaves_the_stage_options_synced(self):
		frappe.db.delete(
			"Property Setter", {"doc_type": "CRM Deal", "field_name": "stage", "property": "options"}
		)
		frappe.clear_cache(doctype="CRM Deal")
		self.assertFalse(frappe.get_meta("CRM Deal").get_field("stage").options)
		after_migrate()
		self.assertEqual(stage_options(), pipelines.all_stage_names())
		self.assertIn("Negotiation", stage_options())


class TestCRMPipelineRest(CRMRestTestCase):
	def setUp(self):
		super().setUp()
		self.user = make_user("records.admin@example.com", roles=("System Manager",)).name
		frappe.db.commit()

	def stages(self, *rows):
		return [{"stage_name": n, "stage_type": t, "probability": p} for n, t, p in rows]

	def test_rest_validates_stages(self):
		r = self.rest_insert(
			"CRM Pipeline",
			{
				"pipeline_name": unique("REST "),
				"stages": self.stages(
					("Open", "Open", 10), ("Won", "Won", 100), ("Won 2", "Won", 100), ("Lost", "Lost", 0)
				),
			},
			user=self.user,
		)
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("PipelineStageError", r.text)
		self.assertIn("exactly one stage of type Won", r.error_text())

	def test_rest_insert_syncs_stage_options(self):
		r = self.rest_insert(
			"CRM Pipeline",
			{
				"pipeline_name": unique("REST "),
				"stages": self.stages(
					("REST Demo", "Open", 30), ("Won", "Won", None), ("Lost", "Lost", None)
				),
			},
			user=self.user,
		)
		self.assertEqual(r.status_code, 200, r.text)
		self.assertEqual([s["probability"] for s in r.data["stages"]], [30, 100, 0])
		frappe.db.rollback()
		self.assertIn("REST Demo", pipelines.stage_options_setter().split("\n"))

	def test_rest_delete_pipeline_with_deals_refused(self):
		pipeline = self.track("CRM Pipeline", make_pipeline().name)
		client = self.track("CRM Client", make_client().name)
		deal = self.track("CRM Deal", make_deal(client, pipeline=pipeline).name)
		frappe.db.commit()

		r = self.rest_delete("CRM Pipeline", pipeline, user=self.user)
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("PipelineInUseError", r.text)
		frappe.db.rollback()
		self.assertTrue(frappe.db.exists("CRM Pipeline", pipeline))

		r = self.rest_update(
			"CRM Pipeline",
			pipeline,
			{"stages": self.stages(("Proposal", "Open", 50), ("Won", "Won", 100), ("Lost", "Lost", 0))},
			user=self.user,
		)
		self.assertEqual(r.status_code, 417, r.text)
		self.assertIn("StageInUseError", r.text)
		frappe.db.rollback()
		self.assertEqual(frappe.db.get_value("CRM Deal", deal, "stage"), "Qualification")
		self.assertEqual(len(pipelines.get_stages(pipeline)), 4)
