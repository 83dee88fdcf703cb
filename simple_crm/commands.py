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


@click.command("simple-crm-generate")
@click.option("--scale", default=1.0, show_default=True, type=float, help="1.0: a million leads")
@click.option("--seed", default=42, show_default=True, type=int, help="Seed of the generator")
@click.option(
	"--resume/--no-resume",
	default=True,
	show_default=True,
	help="Continue a run that stopped, or remove what the generator made and start over",
)
@click.option("--until", default=None, help="Last day of the three years of data (default: today)")
@pass_context
def simple_crm_generate(context, scale, seed, resume, until):
	"""Fill the site with a large dataset for measuring the app (see simple_crm.scale.generator)."""
	import time

	import frappe

	from simple_crm.scale.generator import generate

	site = get_site(context)
	frappe.init(site=site)
	frappe.connect()
	started = time.monotonic()
	try:
		frappe.set_user("Administrator")
		report = generate(scale=scale, seed=seed, resume=resume, until=until, progress=True)
	finally:
		frappe.destroy()
	elapsed = time.monotonic() - started
	for doctype, step in report.items():
		rate = step["rows"] / step["seconds"] if step["seconds"] else 0
		click.echo(
			f"  {doctype:<17} {step['records']:>9} records {step['rows']:>10} rows "
			f"{step['seconds']:>8.1f} s {rate:>9.0f} rows/s"
		)
	click.echo(f"Done in {elapsed:.1f} s")


commands = [simple_crm_demo, simple_crm_generate]
