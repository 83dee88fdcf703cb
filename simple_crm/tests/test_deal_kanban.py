"""A kanban board of deals per pipeline (simple_crm.kanban): made with the pipeline, its columns the pipeline's
stages in order and its filter the pipeline, kept in step when stages are added, removed or archived, when the
pipeline is renamed, when someone saves the board without the filter, and deleted with the pipeline."""

import json

import frappe

from simple_crm import kanban
from simple_crm.install import DEFAULT_PIPELINE, seed_deal_kanban
from simple_crm.tests.factories import make_pipeline, unique
from simple_crm.tests.utils import CRMTestCase

STAGES = (
	("Qualification", "Open", 10),
	("Proposal", "Open", 50),
	("Won", "Won", None),
	("Lost", "Lost", None),
)


def board_doc(pipeline: str):
	name = kanban.board_of(pipeline)
	return frappe.get_doc("Kanban Board", name) if name else None


def columns(board) -> list[tuple[str, str, str]]:
	return [(c.column_name, c.status, c.indicator) for c in board.columns]


def pipeline_filters(board) -> list:
	return [f for f in json.loads(board.filters or "[]") if f[1] == "pipeline"]


class TestDealKanban(CRMTestCase):
	def test_a_new_pipeline_gets_its_board_with_its_stages_only(self):
		pipeline = make_pipeline(stages=STAGES)
		board = board_doc(pipeline.name)
		self.assertIsNotNone(board, "a board is made with the pipeline")
		self.assertEqual(board.name, pipeline.name)
		self.assertEqual((board.reference_doctype, board.field_name, board.private), ("CRM Deal", "stage", 0))
		self.assertEqual(
			columns(board),
			[
				("Qualification", "Active", "Blue"),
				("Proposal", "Active", "Blue"),
				("Won", "Active", "Green"),
				("Lost", "Active", "Red"),
			],
		)
		self.assertEqual(pipeline_filters(board), [["CRM Deal", "pipeline", "=", pipeline.name, False]])
		# the default pipeline's board is the one the workspace opens, with the default pipeline's stages
		default = board_doc(DEFAULT_PIPELINE)
		self.assertEqual(default.name, kanban.LEGACY_BOARD)
		self.assertNotIn("Proposal 2", [c[0] for c in columns(default)])
		self.assertEqual(
			[c[0] for c in columns(default)],
			[s.stage_name for s in frappe.get_doc("CRM Pipeline", DEFAULT_PIPELINE).stages],
		)

	def test_board_follows_stage_changes(self):
		pipeline = make_pipeline(stages=STAGES)
		board = board_doc(pipeline.name)
		# an administrator colours and archives columns by hand: kept
		board.columns[1].indicator = "Orange"
		board.columns[3].status = "Archived"
		board.save()

		pipeline.reload()
		stages = [s.as_dict() for s in pipeline.stages if s.stage_name != "Qualification"]
		stages.insert(1, {"stage_name": "Contract", "stage_type": "Open", "probability": 80})
		pipeline.set("stages", [{k: v for k, v in s.items() if k not in ("name", "idx")} for s in stages])
		pipeline.save()

		self.assertEqual(
			columns(board_doc(pipeline.name)),
			[
				("Proposal", "Active", "Orange"),
				("Contract", "Active", "Blue"),
				("Won", "Active", "Green"),
				("Lost", "Archived", "Red"),
			],
		)
		# the other pipeline's board did not get the new stage
		self.assertNotIn("Contract", [c[0] for c in columns(board_doc(DEFAULT_PIPELINE))])

	def test_the_pipeline_filter_is_put_back(self):
		pipeline = make_pipeline(stages=STAGES)
		board = board_doc(pipeline.name)
		# "Save filters" in the Desk without the pipeline (or with another one), and another filter beside it
		board.filters = json.dumps(
			[["CRM Deal", "pipeline", "=", DEFAULT_PIPELINE, False], ["CRM Deal", "amount", ">", 1000, False]]
		)
		board.save()
		board.reload()
		self.assertEqual(
			json.loads(board.filters),
			[["CRM Deal", "pipeline", "=", pipeline.name, False], ["CRM Deal", "amount", ">", 1000, False]],
		)
		board.filters = "not json"
		board.save()
		self.assertEqual(
			json.loads(board.reload().filters), [["CRM Deal", "pipeline", "=", pipeline.name, False]]
		)

	def test_rename_and_delete(self):
		pipeline = make_pipeline(stages=STAGES)
		name = kanban.board_of(pipeline.name)
		new_name = unique("Опт ")
		frappe.rename_doc("CRM Pipeline", pipeline.name, new_name)
		self.assertIsNone(kanban.board_of(pipeline.name))
		self.assertEqual(kanban.board_of(new_name), name)
		self.assertEqual(
			pipeline_filters(board_doc(new_name)), [["CRM Deal", "pipeline", "=", new_name, False]]
		)

		frappe.delete_doc("CRM Pipeline", new_name)
		self.assertFalse(frappe.db.exists("Kanban Board", name))

	def test_migrate_makes_boards_for_pipelines_that_have_none(self):
		# the install and migrate step (after_migrate runs it; after_migrate itself may add indexes, which commits)
		pipeline = make_pipeline(stages=STAGES)
		# a site from before boards were made per pipeline
		board = kanban.board_of(pipeline.name)
		frappe.db.delete("Kanban Board Column", {"parent": board})
		frappe.db.delete("Kanban Board", {"name": board})
		# a board of another doctype already has the pipeline's name
		frappe.get_doc(
			{
				"doctype": "Kanban Board",
				"kanban_board_name": pipeline.name,
				"reference_doctype": "CRM Lead",
				"field_name": "status",
			}
		).insert()
		seed_deal_kanban()
		self.assertEqual(kanban.board_of(pipeline.name), f"{pipeline.name} 2")
		self.assertEqual([c[0] for c in columns(board_doc(pipeline.name))], [s[0] for s in STAGES])
		# twice changes nothing
		modified = frappe.db.get_value("Kanban Board", f"{pipeline.name} 2", "modified")
		seed_deal_kanban()
		self.assertEqual(frappe.db.get_value("Kanban Board", f"{pipeline.name} 2", "modified"), modified)

	def test_other_boards_of_deals_keep_every_stage(self):
		from frappe.desk.doctype.kanban_board.kanban_board import quick_kanban_board

		board = quick_kanban_board("CRM Deal", unique("Deals "), "stage")
		make_pipeline(stages=(("Tender", "Open", 10), ("Won", "Won", None), ("Lost", "Lost", None)))
		self.assertIn("Tender", [c.column_name for c in frappe.get_doc("Kanban Board", board.name).columns])


class TestStageNamesInCharts(CRMTestCase):
	def test_deals_by_stage_chart_in_the_users_language(self):
		from simple_crm.security.query_guard import dashboard_chart
		from simple_crm.tests.factories import make_client, make_deal, make_lead

		make_deal(make_client().name, stage="Qualification")
		make_lead(source="Website")
		frappe.local.lang = "ru"
		try:
			chart = dashboard_chart(chart_name="Deals by Stage", refresh=1)
			self.assertIn("Квалификация", chart["labels"])
			self.assertNotIn("Qualification", chart["labels"])
			# leads by source: a translated master
			chart = dashboard_chart(chart_name="Leads by Source", refresh=1)
			self.assertIn("Сайт", chart["labels"])
			self.assertNotIn("Website", chart["labels"])
		finally:
			frappe.local.lang = "en"
		chart = dashboard_chart(chart_name="Deals by Stage", refresh=1)
		self.assertIn("Qualification", chart["labels"])


class TestPipelineBoardStays(CRMTestCase):
	def test_a_pipelines_board_is_deleted_with_the_pipeline_only(self):
		pipeline = make_pipeline(stages=STAGES)
		name = kanban.board_of(pipeline.name)
		# Frappe lets anyone who may change a shared board delete it from its menu
		with self.assertRaisesRegex(kanban.PipelineBoardError, "deleted with the pipeline only"):
			frappe.delete_doc("Kanban Board", name)
		self.assertTrue(frappe.db.exists("Kanban Board", name))
		frappe.delete_doc("CRM Pipeline", pipeline.name)
		self.assertFalse(frappe.db.exists("Kanban Board", name))
