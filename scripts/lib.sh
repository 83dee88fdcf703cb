# Shared by scripts/setup.sh and scripts/test.sh. Sourced, not run.
#
# Every setting comes from an environment variable with a default; README.md lists them.

set -euo pipefail

APP_NAME=simple_crm
CHECKOUT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Settings a person may override -------------------------------------------
: "${SIMPLE_CRM_BENCH_USER:=}"            # who runs bench; default: you, or "frappe" when started as root
: "${BENCH_PATH:=}"                       # default: ~BENCH_USER/frappe-bench
: "${FRAPPE_BRANCH:=version-15}"
: "${FRAPPE_REPO:=https://github.com/frappe/frappe.git}"
: "${BENCH_PYTHON:=}"                     # python for the bench env; default: first of python3.12/3.11/3.10/python3
: "${SITE_NAME:=crm.localhost}"
: "${TEST_SITE_NAME:=test.simple-crm.localhost}"
: "${ADMIN_PASSWORD:=admin}"
: "${DB_HOST:=127.0.0.1}"
: "${DB_PORT:=3306}"
: "${DB_ROOT_USER:=root}"
: "${DB_ROOT_PASSWORD:=}"
: "${REDIS_URL:=redis://127.0.0.1:6379}"
: "${HTTP_PORT:=8000}"
: "${DEMO_SEED:=42}"
# the MariaDB primary + read replica pair of scripts/replica.sh (README: Scaling out)
: "${DB_PAIR_DIR:=}"                      # default: ~/.local/share/simple_crm/db-pair of the bench user
: "${DB_PAIR_PRIMARY_PORT:=3316}"
: "${DB_PAIR_REPLICA_PORT:=3317}"
: "${DB_PAIR_BUFFER_POOL:=256M}"
# scripts/test.sh's own pair and site for the replica tests
: "${REPLICA_TEST_SITE_NAME:=replica-test.simple-crm.localhost}"
: "${TEST_DB_PAIR_PRIMARY_PORT:=3326}"
: "${TEST_DB_PAIR_REPLICA_PORT:=3327}"
# bench may use uv when told to; pip is what Frappe v15 documents, and it honours PIP_CONSTRAINT
: "${BENCH_DISABLE_UV:=1}"
export BENCH_DISABLE_UV

SETTINGS_VARS=(SIMPLE_CRM_BENCH_USER BENCH_PATH FRAPPE_BRANCH FRAPPE_REPO BENCH_PYTHON SITE_NAME
	TEST_SITE_NAME ADMIN_PASSWORD DB_HOST DB_PORT DB_ROOT_USER DB_ROOT_PASSWORD REDIS_URL HTTP_PORT
	DEMO_SEED BENCH_DISABLE_UV CI DB_PAIR_DIR DB_PAIR_PRIMARY_PORT DB_PAIR_REPLICA_PORT DB_PAIR_BUFFER_POOL
	REPLICA_TEST_SITE_NAME TEST_DB_PAIR_PRIMARY_PORT TEST_DB_PAIR_REPLICA_PORT)

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() {
	printf '\033[1;31mERROR: %s\033[0m\n' "$*" >&2
	exit 1
}

# bench refuses to run as root: re-run this very script as an ordinary user.
# Usage: drop_root "$0" "$@"  (returns only when not root)
drop_root() {
	[ "$(id -u)" -eq 0 ] || return 0
	local user=${SIMPLE_CRM_BENCH_USER:-frappe}
	if ! id "$user" >/dev/null 2>&1; then
		say "Creating the system user '$user' to run bench (bench refuses to run as root)"
		useradd --create-home --shell /bin/bash "$user"
	fi
	local home
	home=$(getent passwd "$user" | cut -d: -f6)
	local -a envs=("HOME=$home" "USER=$user" "LOGNAME=$user" "LANG=C.UTF-8" "LC_ALL=C.UTF-8"
		"PATH=$home/.local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	local v
	for v in "${SETTINGS_VARS[@]}"; do
		[ -n "${!v+x}" ] && envs+=("$v=${!v}")
	done
	envs+=("SIMPLE_CRM_BENCH_USER=$user" "SIMPLE_CRM_STARTED_AS_ROOT=1")
	local script=$1
	shift
	if ! runuser -u "$user" -- test -r "$CHECKOUT/scripts/lib.sh"; then
		# the checkout lives where that user cannot read it (e.g. under /root): give it a copy
		local copy="$home/.cache/simple_crm/checkout"
		say "$CHECKOUT is not readable by '$user'; copying it to $copy"
		rm -rf "$copy"
		mkdir -p "$(dirname "$copy")"
		cp -a "$CHECKOUT" "$copy"
		chown -R "$user:" "$home/.cache"
		script="$copy/scripts/$(basename "$script")"
	fi
	exec runuser -u "$user" -- env -i "${envs[@]}" bash "$script" "$@"
}

# --- prerequisites ---------------------------------------------------------

pick_python() {
	if [ -n "$BENCH_PYTHON" ]; then
		command -v "$BENCH_PYTHON" >/dev/null || die "BENCH_PYTHON=$BENCH_PYTHON is not an executable"
		echo "$BENCH_PYTHON"
		return
	fi
	local p
	for p in python3.12 python3.11 python3.10 python3; do
		if command -v "$p" >/dev/null 2>&1 &&
			"$p" -c 'import sys, venv, ensurepip; sys.exit(not ((3, 10) <= sys.version_info[:2] <= (3, 12)))' 2>/dev/null; then
			command -v "$p"
			return
		fi
	done
	die "Python 3.10-3.12 with venv is required (Debian/Ubuntu: apt-get install python3-venv python3-dev)"
}

check_mariadb() {
	local py
	py=$(pick_python)
	"$py" - "$DB_HOST" "$DB_PORT" <<'PY' || die "MariaDB is unreachable at $DB_HOST:$DB_PORT. Start MariaDB (10.6+) or set DB_HOST/DB_PORT."
import socket, sys
s = socket.socket()
s.settimeout(5)
try:
	s.connect((sys.argv[1], int(sys.argv[2])))
	greeting = s.recv(128)
except OSError:
	sys.exit(1)
sys.exit(0 if greeting else 1)
PY
}

check_redis() {
	local py
	py=$(pick_python)
	"$py" - "$REDIS_URL" <<'PY' || die "Redis is unreachable at $REDIS_URL. Start Redis or set REDIS_URL."
import socket, sys
from urllib.parse import urlparse
u = urlparse(sys.argv[1])
s = socket.socket()
s.settimeout(5)
try:
	s.connect((u.hostname or "127.0.0.1", u.port or 6379))
	s.sendall(b"PING\r\n")
	ok = s.recv(64).startswith(b"+PONG")
except OSError:
	ok = False
sys.exit(0 if ok else 1)
PY
}

check_tools() {
	local t
	for t in git node; do
		command -v "$t" >/dev/null 2>&1 || die "'$t' is required but not installed (see README: Prerequisites)"
	done
	local node_major
	node_major=$(node -p 'process.versions.node.split(".")[0]')
	[ "$node_major" -ge 18 ] || die "Node 18+ is required, found $(node --version)"
	command -v yarn >/dev/null 2>&1 || die "yarn 1 is required: npm install -g yarn"
}

# Frappe wants a database admin with a password. If none is given and the server lets root in
# without one (a fresh MariaDB), create a dedicated admin once and remember its password.
resolve_db_admin() {
	if [ -n "$DB_ROOT_PASSWORD" ]; then
		return
	fi
	local cred="$HOME/.simple_crm_db_admin"
	if [ -f "$cred" ]; then
		DB_ROOT_USER=$(sed -n 1p "$cred")
		DB_ROOT_PASSWORD=$(sed -n 2p "$cred")
		return
	fi
	say "No DB_ROOT_PASSWORD given: creating a MariaDB admin user for bench"
	local pw
	pw=$("$(bench_python_or_system)" -c 'import secrets; print(secrets.token_hex(16))')
	"$(bench_python_or_system)" - "$DB_HOST" "$DB_PORT" "$DB_ROOT_USER" "$pw" <<'PY' ||
import sys
try:
	import pymysql
except ImportError:
	sys.exit(3)
host, port, root, pw = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
conn = pymysql.connect(host=host, port=port, user=root, password="")
with conn.cursor() as c:
	for h in ("%", "localhost"):
		c.execute("CREATE USER IF NOT EXISTS 'simple_crm_dbadmin'@%s IDENTIFIED BY %s", (h, pw))
		c.execute("ALTER USER 'simple_crm_dbadmin'@%s IDENTIFIED BY %s", (h, pw))
		c.execute("GRANT ALL PRIVILEGES ON *.* TO 'simple_crm_dbadmin'@%s WITH GRANT OPTION", (h,))
	c.execute("FLUSH PRIVILEGES")
conn.close()
PY
		die "Could not log in to MariaDB as '$DB_ROOT_USER' without a password. Set DB_ROOT_USER and DB_ROOT_PASSWORD to a MariaDB user that may create databases and users."
	umask 077
	printf '%s\n%s\n' simple_crm_dbadmin "$pw" >"$cred"
	DB_ROOT_USER=simple_crm_dbadmin
	DB_ROOT_PASSWORD=$pw
}

bench_python_or_system() {
	if [ -x "$BENCH_PATH/env/bin/python" ]; then
		echo "$BENCH_PATH/env/bin/python"
	else
		pick_python
	fi
}

# --- bench -------------------------------------------------------------------

ensure_bench_cli() {
	if command -v bench >/dev/null 2>&1; then
		return
	fi
	local cli="$HOME/.local/share/simple_crm/bench-cli"
	if [ ! -x "$cli/bin/bench" ]; then
		say "Installing the bench command (frappe-bench) into $cli"
		"$(pick_python)" -m venv "$cli"
		"$cli/bin/pip" install --quiet --upgrade pip
		"$cli/bin/pip" install --quiet frappe-bench
	fi
	mkdir -p "$HOME/.local/bin"
	ln -sf "$cli/bin/bench" "$HOME/.local/bin/bench"
	export PATH="$HOME/.local/bin:$PATH"
}

# Frappe v15 imports pkg_resources, which setuptools 81+ no longer ships.
pin_setuptools() {
	"$BENCH_PATH/env/bin/python" -m pip install --quiet "setuptools<81"
}

ensure_bench() {
	: "${BENCH_PATH:=$HOME/frappe-bench}"
	export BENCH_PATH
	if [ -f "$BENCH_PATH/sites/common_site_config.json" ] && [ -d "$BENCH_PATH/apps/frappe" ]; then
		say "Reusing the bench at $BENCH_PATH"
	else
		[ ! -e "$BENCH_PATH" ] || die "$BENCH_PATH exists but is not a complete bench; move it away or set BENCH_PATH"
		check_tools
		say "Creating a Frappe $FRAPPE_BRANCH bench at $BENCH_PATH (takes a few minutes)"
		local constraints
		constraints=$(mktemp)
		echo "setuptools<81" >"$constraints"
		(
			cd "$(dirname "$BENCH_PATH")"
			PIP_CONSTRAINT="$constraints" bench init "$(basename "$BENCH_PATH")" \
				--frappe-branch "$FRAPPE_BRANCH" --frappe-path "$FRAPPE_REPO" \
				--python "$(pick_python)" --no-backups --skip-redis-config-generation --no-procfile
		) || {
			rm -f "$constraints"
			die "bench init failed (see the output above)"
		}
		rm -f "$constraints"
	fi
	pin_setuptools
	configure_bench
}

configure_bench() {
	local base=${REDIS_URL%/}
	(
		cd "$BENCH_PATH"
		bench set-config -g redis_cache "$base" >/dev/null
		bench set-config -g redis_queue "$base" >/dev/null
		bench set-config -g redis_socketio "$base" >/dev/null
		bench set-config -g webserver_port "$HTTP_PORT" >/dev/null
		bench set-config -g db_host "$DB_HOST" >/dev/null
		bench set-config -g db_port "$DB_PORT" >/dev/null
	)
}

# Put this checkout into the bench as apps/simple_crm (a link when the bench user can read it).
link_app() {
	local target="$BENCH_PATH/apps/$APP_NAME"
	if [ -L "$target" ] || [ ! -e "$target" ]; then
		rm -f "$target"
		if [ -r "$CHECKOUT/$APP_NAME/hooks.py" ] && [ -x "$CHECKOUT" ]; then
			ln -s "$CHECKOUT" "$target"
			say "Linked $CHECKOUT into the bench as apps/$APP_NAME"
		fi
	fi
	if [ ! -e "$target" ]; then
		die "cannot read $CHECKOUT as $(id -un); put the checkout where that user can read it"
	fi
	if [ ! -L "$target" ] && [ "$(cd "$target" && pwd -P)" != "$(cd "$CHECKOUT" && pwd -P)" ]; then
		die "$target exists and is not this checkout; remove it or set BENCH_PATH to another bench"
	fi
	local apps="$BENCH_PATH/sites/apps.txt"
	if ! grep -qx "$APP_NAME" "$apps" 2>/dev/null; then
		# apps.txt may lack a final newline
		[ ! -s "$apps" ] || [ -z "$(tail -c1 "$apps")" ] || echo >>"$apps"
		echo "$APP_NAME" >>"$apps"
	fi
	say "Installing $APP_NAME's Python package into the bench env"
	"$BENCH_PATH/env/bin/python" -m pip install --quiet -e "$target"
	pin_setuptools
}

site_exists() {
	[ -f "$BENCH_PATH/sites/$1/site_config.json" ]
}

new_site() {
	local site=$1
	say "Creating site $site"
	(
		cd "$BENCH_PATH"
		bench new-site "$site" --force \
			--db-host "$DB_HOST" --db-port "$DB_PORT" \
			--db-root-username "$DB_ROOT_USER" --db-root-password "$DB_ROOT_PASSWORD" \
			--no-mariadb-socket --admin-password "$ADMIN_PASSWORD"
	)
}

# Error responses carry no traceback: Frappe sends one (and the failing line) to every user while System
# Settings' "Show Full Error and Allow Reporting of Issues to the Developer" (allow_error_traceback) is on,
# its default. Administrators read the tracebacks in the Error Log. The test site keeps Frappe's default.
hide_tracebacks() {
	local site=$1
	(cd "$BENCH_PATH" && bench --site "$site" execute frappe.db.set_single_value \
		--args "['System Settings', 'allow_error_traceback', 0]" >/dev/null &&
		bench --site "$site" clear-cache >/dev/null)
}

install_app_on() {
	local site=$1
	if (cd "$BENCH_PATH" && bench --site "$site" list-apps 2>/dev/null | grep -q "^$APP_NAME\b"); then
		say "$APP_NAME is installed on $site; migrating"
		(cd "$BENCH_PATH" && bench --site "$site" migrate)
	else
		say "Installing $APP_NAME on $site"
		(cd "$BENCH_PATH" && bench --site "$site" install-app "$APP_NAME")
	fi
}
