#!/usr/bin/env bash
# The replica tests (simple_crm.tests.replica_reads): a MariaDB primary and read replica of their own
# (scripts/replica.sh, ports TEST_DB_PAIR_PRIMARY_PORT / TEST_DB_PAIR_REPLICA_PORT), a throw-away site
# REPLICA_TEST_SITE_NAME with the app on the primary and the replica in its site config, the tests on it;
# the pair and the site are removed afterwards. scripts/test.sh runs it after the other tests; it can run
# on its own on a bench that scripts/test.sh or scripts/setup.sh made.
#
#   bash scripts/test_replica.sh [JUNIT_XML]
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
drop_root "$0" "$@"

: "${BENCH_PATH:=$HOME/frappe-bench}"
junit=${1:-$BENCH_PATH/logs/simple_crm-tests/replica.xml}
[ -e "$BENCH_PATH/apps/$APP_NAME" ] ||
	die "no bench with $APP_NAME at $BENCH_PATH: run scripts/test.sh (or scripts/setup.sh) first"
ensure_bench_cli
check_redis

export DB_PAIR_DIR="$HOME/.cache/simple_crm/test-db-pair"
export DB_PAIR_PRIMARY_PORT=$TEST_DB_PAIR_PRIMARY_PORT DB_PAIR_REPLICA_PORT=$TEST_DB_PAIR_REPLICA_PORT
site=$REPLICA_TEST_SITE_NAME
log="$BENCH_PATH/logs/simple_crm-replica-site.log"

pair() { bash "$CHECKOUT/scripts/replica.sh" "$@"; }
clean_up() {
	pair destroy >/dev/null 2>&1 || true
	rm -rf "${BENCH_PATH:?}/sites/${site:?}"
}
clean_up # whatever an earlier run left
trap clean_up EXIT

pair start
cd "$BENCH_PATH"
say "Creating $site on the primary (127.0.0.1:$DB_PAIR_PRIMARY_PORT) with $APP_NAME (log: $log)"
bench new-site "$site" --db-host 127.0.0.1 --db-port "$DB_PAIR_PRIMARY_PORT" \
	--db-root-username "$(sed -n 1p "$DB_PAIR_DIR/admin")" --db-root-password "$(sed -n 2p "$DB_PAIR_DIR/admin")" \
	--no-mariadb-socket --admin-password "$ADMIN_PASSWORD" --install-app "$APP_NAME" >"$log" 2>&1 || {
	tail -n 30 "$log" >&2
	die "could not create $site on the pair (see $log)"
}
bench --site "$site" set-config --parse read_from_replica 1 >/dev/null
bench --site "$site" set-config replica_host 127.0.0.1 >/dev/null
bench --site "$site" set-config --parse replica_db_port "$DB_PAIR_REPLICA_PORT" >/dev/null
bench --site "$site" set-config allow_tests true >/dev/null
bench --site "$site" set-config --parse throttle_user_limit 100000 >/dev/null
bench --site "$site" set-config --parse mute_emails 1 >/dev/null
pair status

say "Replica tests on $site (bench run-tests --module simple_crm.tests.replica_reads)"
mkdir -p "$(dirname "$junit")"
rm -f "$junit"
rc=0
bench --site "$site" run-tests --module simple_crm.tests.replica_reads --junit-xml-output "$junit" || rc=$?
# bench run-tests exits 0 on failures outside CI: the report decides
"$BENCH_PATH/env/bin/python" - "$junit" "$rc" <<'PY'
import sys
import xml.etree.ElementTree as ET

path, rc = sys.argv[1], int(sys.argv[2])
try:
	root = ET.parse(path).getroot()
except (OSError, ET.ParseError) as error:
	sys.exit(f"replica tests: no report ({error})")
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
counts = {k: sum(int(s.get(k, 0) or 0) for s in suites) for k in ("tests", "failures", "errors", "skipped")}
print("replica tests: {tests} run, {failures} failures, {errors} errors, {skipped} skipped".format(**counts))
sys.exit(1 if rc or not counts["tests"] or counts["failures"] or counts["errors"] else 0)
PY
