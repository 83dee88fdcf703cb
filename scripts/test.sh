#!/usr/bin/env bash
# Runs the whole test suite: plain unit tests of the pure modules, then every Frappe integration
# test of the app on a freshly created throw-away site (MariaDB + Redis). Safe to run again.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The e-mail tests start a real IMAP server (Dovecot) and the web form is tested in a real browser (Chromium),
# both Debian packages: installed here when started as root, before bench's user takes over; otherwise the
# script stops and says what to install.
TEST_PACKAGES=(dovecot-imapd chromium)
missing_test_packages() {
	local missing=()
	[ -x /usr/sbin/dovecot ] || command -v dovecot >/dev/null 2>&1 || missing+=(dovecot-imapd)
	[ -x /usr/bin/chromium ] || command -v chromium >/dev/null 2>&1 || missing+=(chromium)
	echo "${missing[@]}"
}
ensure_test_packages() {
	local missing
	missing=$(missing_test_packages)
	[ -n "$missing" ] || return 0
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
		say "Installing packages the tests need: $missing"
		apt-get update -q
		# shellcheck disable=SC2086
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing
		missing=$(missing_test_packages)
	fi
	[ -z "$missing" ] || die "The tests need these Debian packages: $missing (the e-mail tests run Dovecot, the web form is tested in Chromium). Install them with: apt-get install -y ${TEST_PACKAGES[*]} (or run this script as root)"
}
ensure_test_packages
drop_root "$0" "$@"

check_mariadb
check_redis
ensure_bench_cli
ensure_bench
resolve_db_admin
link_app

cd "$BENCH_PATH"
# the test runners, aiosmtpd and Playwright for the e-mail and browser tests, and hypothesis-jsonschema, jsonschema and
# openapi-spec-validator for the API description's tests (pyproject.toml's dev-dependencies)
DEV_IMPORTS='import pytest, xmlrunner, aiosmtpd, playwright, hypothesis_jsonschema, jsonschema, openapi_spec_validator'
if ! "$BENCH_PATH/env/bin/python" -c "$DEV_IMPORTS" 2>/dev/null; then
	say "Installing development requirements (test runners, aiosmtpd, Playwright, hypothesis-jsonschema, openapi-spec-validator)"
	bench setup requirements --dev
	pin_setuptools
	"$BENCH_PATH/env/bin/python" -c "$DEV_IMPORTS" ||
		die "The development requirements are still missing after 'bench setup requirements --dev' (see above)"
fi

# A clean site every run: drop what an earlier run left, create it anew.
if site_exists "$TEST_SITE_NAME"; then
	say "Dropping the previous test site $TEST_SITE_NAME"
	bench drop-site "$TEST_SITE_NAME" --force --no-backup \
		--db-root-username "$DB_ROOT_USER" --db-root-password "$DB_ROOT_PASSWORD"
fi
new_site "$TEST_SITE_NAME"
install_app_on "$TEST_SITE_NAME"
bench --site "$TEST_SITE_NAME" set-config allow_tests true >/dev/null
# tests create many users; Frappe otherwise refuses more than 60 new users an hour
bench --site "$TEST_SITE_NAME" set-config --parse throttle_user_limit 100000 >/dev/null
# e-mails the tests cause are queued (and checked there), never sent
bench --site "$TEST_SITE_NAME" set-config --parse mute_emails 1 >/dev/null
# the Desk tests load the app's scripts from /assets/simple_crm (a link to simple_crm/public)
bench build --app "$APP_NAME" >/dev/null 2>&1 || bench build --app "$APP_NAME"
say "Installed apps on $TEST_SITE_NAME:"
bench --site "$TEST_SITE_NAME" list-apps

report_dir="$BENCH_PATH/logs/simple_crm-tests"
rm -rf "$report_dir"
mkdir -p "$report_dir"

say "Unit tests of the pure modules (pytest)"
unit_rc=0
(cd "$BENCH_PATH/apps/$APP_NAME" && "$BENCH_PATH/env/bin/python" -m pytest -q -p no:cacheprovider \
	--junit-xml="$report_dir/unit.xml" simple_crm/tests/unit) || unit_rc=$?

say "Integration tests on $TEST_SITE_NAME (bench run-tests)"
site_rc=0
bench --site "$TEST_SITE_NAME" run-tests --app "$APP_NAME" --junit-xml-output "$report_dir/site.xml" || site_rc=$?

# reports and exports read from a MariaDB read replica: a primary + replica pair and a site of their own
say "Replica tests: a MariaDB primary and read replica (scripts/test_replica.sh)"
replica_rc=0
bash "$CHECKOUT/scripts/test_replica.sh" "$report_dir/replica.xml" || replica_rc=$?

# One closing line with the counts of the three runs; fails when nothing ran.
"$BENCH_PATH/env/bin/python" - "$report_dir" "$unit_rc" "$site_rc" "$replica_rc" <<'PY'
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

report_dir, unit_rc, site_rc, replica_rc = Path(sys.argv[1]), *map(int, sys.argv[2:5])
totals = {}
for name in ("unit", "site", "replica"):
	path = report_dir / f"{name}.xml"
	if not path.exists():
		print(f"{name}: no report written")
		totals[name] = None
		continue
	try:
		root = ET.parse(path).getroot()
	except ET.ParseError:
		print(f"{name}: unreadable report {path}")
		totals[name] = None
		continue
	suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
	t = dict(tests=0, failures=0, errors=0, skipped=0)
	for s in suites:
		for k in t:
			t[k] += int(s.get(k, 0) or 0)
	totals[name] = t
	print(f"{name} tests: {t['tests']} run, {t['failures']} failures, {t['errors']} errors, {t['skipped']} skipped")

ran = sum(t["tests"] for t in totals.values() if t)
bad = sum(t["failures"] + t["errors"] for t in totals.values() if t)
skipped = sum(t["skipped"] for t in totals.values() if t)
passed = ran - bad - skipped
site = totals.get("site")
ok = True
if not site or site["tests"] == 0:
	print("FAILED: no Frappe integration test ran")
	ok = False
if unit_rc or site_rc or replica_rc or bad or any(t is None for t in totals.values()):
	ok = False
print(f"simple_crm: {passed} passed, {bad} failed, {skipped} skipped")
sys.exit(0 if ok else 1)
PY
