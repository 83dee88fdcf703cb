#!/usr/bin/env bash
# Brings up a working simple_crm: bench (created or reused), this checkout linked into it, a site
# with the app and demo data, and the Desk on http://localhost:$HTTP_PORT. Safe to run again.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
drop_root "$0" "$@"

check_mariadb
check_redis
ensure_bench_cli
ensure_bench
resolve_db_admin
link_app

if site_exists "$SITE_NAME"; then
	say "Reusing site $SITE_NAME"
else
	new_site "$SITE_NAME"
fi
install_app_on "$SITE_NAME"

cd "$BENCH_PATH"
bench use "$SITE_NAME" >/dev/null
bench --site "$SITE_NAME" set-config host_name "http://localhost:$HTTP_PORT" >/dev/null
bench --site "$SITE_NAME" enable-scheduler >/dev/null

say "Loading demo data (seed $DEMO_SEED; skipped where it is already there)"
bench --site "$SITE_NAME" simple-crm-demo --seed "$DEMO_SEED"
# after the demo, whose setup wizard saves the System Settings
hide_tracebacks "$SITE_NAME"

if [ ! -d "$BENCH_PATH/sites/assets/frappe/dist" ]; then
	say "Building Desk assets"
	bench build
else
	bench build --app "$APP_NAME" >/dev/null 2>&1 || bench build --app "$APP_NAME"
fi

ping_ok() { curl -fsS --max-time 3 "http://127.0.0.1:$HTTP_PORT/api/method/ping" 2>/dev/null | grep -q pong; }
# Frappe's realtime (socket.io) server answers a handshake behind the same address
realtime_ok() {
	curl -fsS --max-time 3 "http://127.0.0.1:$HTTP_PORT/socket.io/?EIO=4&transport=polling" 2>/dev/null | grep -q '"sid"'
}

start_bg() { # name, command...
	local name=$1
	shift
	local pidfile="$BENCH_PATH/logs/simple_crm-$name.pid"
	if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
		return
	fi
	mkdir -p "$BENCH_PATH/logs"
	setsid nohup "$@" >>"$BENCH_PATH/logs/simple_crm-$name.log" 2>&1 </dev/null &
	echo $! >"$pidfile"
}

if ping_ok && realtime_ok; then
	say "The Desk already answers on port $HTTP_PORT"
elif ping_ok; then
	die "port $HTTP_PORT answers without Frappe's realtime server (a web server of an older setup?); stop it and run this again"
else
	command -v node >/dev/null 2>&1 || die "'node' is required for Frappe's realtime server (see README: Prerequisites)"
	say "Starting the web (gunicorn) and realtime (socket.io) servers, a background worker and the scheduler"
	# as a production bench runs them, on loopback only, behind one address that also serves /assets and /files
	# and forwards /socket.io to the realtime server as bench's nginx does (simple_crm/serve.py)
	start_bg web bash -c "cd '$BENCH_PATH/sites' && exec '$BENCH_PATH/env/bin/python' -m simple_crm.serve '$SITE_NAME' '$HTTP_PORT'"
	start_bg worker bench worker
	start_bg schedule bench schedule
	for _ in $(seq 1 120); do
		ping_ok && realtime_ok && break
		sleep 1
	done
	ping_ok && realtime_ok ||
		die "the web or realtime server did not answer on port $HTTP_PORT; see $BENCH_PATH/logs/simple_crm-web.log"
fi

cat <<MSG

simple_crm is running.
  Desk:     http://localhost:$HTTP_PORT/app/simple-crm
  Login:    Administrator / $ADMIN_PASSWORD
  Site:     $SITE_NAME   Bench: $BENCH_PATH
  Stop:     kill \$(cat $BENCH_PATH/logs/simple_crm-*.pid)
MSG
