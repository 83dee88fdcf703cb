"""bench commands of the app (Frappe picks up the `commands` list)."""

import click
from frappe.commands import get_site, pass_context


@click.command("simple-crm-demo")
@click.option("--seed", default=42, show_default=True, type=int, help="Seed of the generator")
@click.option("--leads", default=300, show_default=True, type=int)
@click.option("--organisations", default=60, show_default=True, type=int)
@click.option("--individuals", default=20, show_default=True, type=int)
@pass_context
def simple_crm_demo(context, seed, leads, organisations, individuals):
	"""Fill the site with a realistic demo dataset (once; a second run does nothing)."""
	import frappe

	from simple_crm.demo import load

	site = get_site(context)
	frappe.init(site=site)
	frappe.connect()
	try:
		frappe.set_user("Administrator")
		counts = load(seed=seed, leads=leads, organisations=organisations, individuals=individuals)
		frappe.db.commit()
	finally:
		frappe.destroy()
	if counts:
		for doctype, count in sorted(counts.items()):
			click.echo(f"  {doctype}: {count}")
	else:
		click.echo(f"Demo data is already on {site}; nothing to do.")


commands = [simple_crm_demo]
