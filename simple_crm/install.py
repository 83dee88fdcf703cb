"""Idempotent site setup: safe to run on every install and migrate."""


def after_install():
	after_migrate()


def after_migrate():
	"""Seed masters the app needs; every step checks before it writes."""
	pass
