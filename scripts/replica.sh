#!/usr/bin/env bash
# A MariaDB primary and a read replica of it on loopback, to develop and test reads from a replica
# (README: "Scaling out"). Two mariadbd processes of the bench user, each with its own data directory,
# port and socket under DB_PAIR_DIR; the replica follows the primary by GTID and is read-only.
# Nothing here touches the MariaDB server at DB_PORT. Safe to run again.
#
#   bash scripts/replica.sh start [primary|replica]  # create on first use, start, replicate
#   bash scripts/replica.sh status                   # running? replicating? how far behind?
#   bash scripts/replica.sh pause                    # stop applying the primary's changes on the replica
#   bash scripts/replica.sh resume                   # apply them again (the replica catches up)
#   bash scripts/replica.sh stop [primary|replica]   # stop the servers, keep their data
#   bash scripts/replica.sh destroy                  # stop both and delete their data
#
# The administrator of both servers (for bench new-site --db-root-username/--db-root-password) is in
# DB_PAIR_DIR/admin: user on line 1, password on line 2.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
drop_root "$0" "$@"

PAIR_DIR=${DB_PAIR_DIR:-$HOME/.local/share/simple_crm/db-pair}
ADMIN_FILE="$PAIR_DIR/admin"
REPL_FILE="$PAIR_DIR/replication"
ADMIN_USER=simple_crm_dbadmin
REPL_USER=simple_crm_repl

# MariaDB's programs (the server lives in sbin, often outside an ordinary user's PATH)
find_program() { # names...
	local name dir
	for name in "$@"; do
		for dir in $(echo "$PATH" | tr ':' ' ') /usr/sbin /usr/local/sbin /usr/libexec; do
			if [ -x "$dir/$name" ]; then
				echo "$dir/$name"
				return
			fi
		done
	done
	die "none of $* is installed: the pair needs the MariaDB server (10.6+) on this machine (Debian/Ubuntu: apt-get install mariadb-server)"
}
MARIADBD=$(find_program mariadbd mysqld)
INSTALL_DB=$(find_program mariadb-install-db mysql_install_db)
CLIENT=$(find_program mariadb mysql)
ADMIN=$(find_program mariadb-admin mysqladmin)

port_of() { if [ "$1" = primary ]; then echo "$DB_PAIR_PRIMARY_PORT"; else echo "$DB_PAIR_REPLICA_PORT"; fi; }
server_id_of() { if [ "$1" = primary ]; then echo 1; else echo 2; fi; }
socket_of() { echo "$PAIR_DIR/$1.sock"; }
pid_of() { cat "$PAIR_DIR/$1.pid" 2>/dev/null || true; }

# SQL as the OS user (unix_socket authentication, set up by mariadb-install-db)
sql() { # role, statements...
	local role=$1
	shift
	"$CLIENT" --no-defaults --socket="$(socket_of "$role")" --batch --skip-column-names -e "$*"
}

# one field of SHOW SLAVE STATUS on the replica (empty when replication is not configured)
slave_field() { # name
	"$CLIENT" --no-defaults --socket="$(socket_of replica)" -e 'SHOW SLAVE STATUS\G' |
		sed -n "s/^ *$1: //p"
}

is_running() { # role
	local pid
	pid=$(pid_of "$1")
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
		tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "--datadir=$PAIR_DIR/$1 " &&
		"$ADMIN" --no-defaults --socket="$(socket_of "$1")" --connect-timeout=2 ping >/dev/null 2>&1
}

port_taken() { # port
	"$(pick_python)" - "$1" <<'PY'
import socket, sys
s = socket.socket()
s.settimeout(1)
sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)
PY
}

random_secret() { "$(pick_python)" -c 'import secrets; print(secrets.token_hex(16))'; }

secret_file() { # path: a random secret kept in a 0600 file, made once
	if [ ! -s "$1" ]; then
		(
			umask 077
			printf '%s\n%s\n' "$2" "$(random_secret)" >"$1"
		)
	fi
}

install_datadir() { # role
	local datadir="$PAIR_DIR/$1"
	[ -d "$datadir/mysql" ] && return
	say "Creating the $1's data directory $datadir"
	rm -rf "$datadir"
	"$INSTALL_DB" --no-defaults --datadir="$datadir" --auth-root-authentication-method=socket \
		--auth-root-socket-user="$(id -un)" --skip-test-db >"$PAIR_DIR/$1-install.log" 2>&1 ||
		die "mariadb-install-db failed for the $1; see $PAIR_DIR/$1-install.log"
}

start_server() { # role
	local role=$1 port
	port=$(port_of "$role")
	if is_running "$role"; then
		say "The $role is running on 127.0.0.1:$port"
		return
	fi
	! port_taken "$port" || die "port $port is taken by another process; set DB_PAIR_PRIMARY_PORT / DB_PAIR_REPLICA_PORT"
	install_datadir "$role"
	local -a options=(
		--no-defaults --datadir="$PAIR_DIR/$role" --port="$port" --bind-address=127.0.0.1
		--socket="$(socket_of "$role")" --pid-file="$PAIR_DIR/$role.pid" --log-error="$PAIR_DIR/$role.err"
		--skip-name-resolve --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci
		--innodb-buffer-pool-size="$DB_PAIR_BUFFER_POOL" --server-id="$(server_id_of "$role")"
		--log-bin=binlog --binlog-format=ROW --binlog-expire-logs-seconds=604800
	)
	if [ "$role" = replica ]; then
		options+=(--read-only=1 --relay-log=relay --log-slave-updates=0)
	fi
	say "Starting the $role on 127.0.0.1:$port"
	setsid nohup "$MARIADBD" "${options[@]}" >>"$PAIR_DIR/$role.out" 2>&1 </dev/null &
	local _
	for _ in $(seq 1 120); do
		is_running "$role" && return
		sleep 0.5
	done
	tail -n 20 "$PAIR_DIR/$role.err" >&2 || true
	die "the $role did not start; see $PAIR_DIR/$role.err"
}

# Users made on each server by hand (not replicated): the administrator, and on the primary the
# account the replica reads the binary log with.
bootstrap_users() { # role
	local role=$1
	local pw repl_pw
	pw=$(sed -n 2p "$ADMIN_FILE")
	repl_pw=$(sed -n 2p "$REPL_FILE")
	local statements="SET SESSION sql_log_bin = 0;"
	local host
	for host in localhost 127.0.0.1; do
		statements+="CREATE USER IF NOT EXISTS '$ADMIN_USER'@'$host' IDENTIFIED BY '$pw';"
		statements+="ALTER USER '$ADMIN_USER'@'$host' IDENTIFIED BY '$pw';"
		statements+="GRANT ALL PRIVILEGES ON *.* TO '$ADMIN_USER'@'$host' WITH GRANT OPTION;"
	done
	if [ "$role" = primary ]; then
		statements+="CREATE USER IF NOT EXISTS '$REPL_USER'@'127.0.0.1' IDENTIFIED BY '$repl_pw';"
		statements+="ALTER USER '$REPL_USER'@'127.0.0.1' IDENTIFIED BY '$repl_pw';"
		statements+="GRANT REPLICATION SLAVE ON *.* TO '$REPL_USER'@'127.0.0.1';"
	fi
	sql "$role" "$statements"
}

# The replica follows the primary from the start of its binary log (GTID), so every database, user and
# grant made on the primary exists on the replica too.
configure_replication() {
	if [ -z "$(slave_field Master_Host)" ]; then
		say "Replicating 127.0.0.1:$DB_PAIR_PRIMARY_PORT to 127.0.0.1:$DB_PAIR_REPLICA_PORT (GTID)"
		sql replica "SET GLOBAL gtid_slave_pos = '';
			CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = $DB_PAIR_PRIMARY_PORT,
				MASTER_USER = '$REPL_USER', MASTER_PASSWORD = '$(sed -n 2p "$REPL_FILE")',
				MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = 1;"
	fi
	sql replica "START SLAVE"
	local _ io
	for _ in $(seq 1 40); do
		io=$(slave_field Slave_IO_Running)
		[ "$io" = Yes ] && return
		sleep 0.5
	done
	die "the replica does not connect to the primary: $(slave_field Last_IO_Error)"
}

start_pair() {
	mkdir -p "$PAIR_DIR"
	chmod 700 "$PAIR_DIR"
	secret_file "$ADMIN_FILE" "$ADMIN_USER"
	secret_file "$REPL_FILE" "$REPL_USER"
	start_server primary
	bootstrap_users primary
	start_server replica
	bootstrap_users replica
	configure_replication
	status_pair
	say "Administrator of both servers: user and password in $ADMIN_FILE"
}

stop_server() { # role
	local role=$1 pid
	pid=$(pid_of "$role")
	if ! is_running "$role"; then
		say "The $role is not running"
		return
	fi
	say "Stopping the $role"
	"$ADMIN" --no-defaults --socket="$(socket_of "$role")" shutdown >/dev/null 2>&1 ||
		kill "$pid" 2>/dev/null || true
	local _
	for _ in $(seq 1 120); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.5
	done
	die "the $role (pid $pid) did not stop"
}

status_pair() {
	local ok=0 role
	for role in primary replica; do
		if is_running "$role"; then
			echo "$role: running on 127.0.0.1:$(port_of "$role"), server_id $(server_id_of "$role"), read_only $(sql "$role" 'SELECT @@read_only')"
		else
			echo "$role: not running"
			ok=1
		fi
	done
	if is_running replica; then
		if [ -z "$(slave_field Master_Host)" ]; then
			echo "replication: not configured"
			ok=1
		else
			local io sql_thread
			io=$(slave_field Slave_IO_Running)
			sql_thread=$(slave_field Slave_SQL_Running)
			echo "replication: receiving $io, applying $sql_thread, $(slave_field Seconds_Behind_Master) s behind," \
				"applied up to GTID $(sql replica 'SELECT @@gtid_slave_pos') (primary at $(sql primary 'SELECT @@gtid_binlog_pos' 2>/dev/null))"
			local error
			for error in Last_IO_Error Last_SQL_Error; do
				[ -z "$(slave_field "$error")" ] || echo "  $error: $(slave_field "$error")"
			done
			[ "$io" = Yes ] && [ "$sql_thread" = Yes ] || ok=1
		fi
	fi
	echo "data: $PAIR_DIR"
	return $ok
}

roles_from() { # [primary|replica] -> the roles named, both by default
	case "${1:-}" in
	"") echo primary replica ;;
	primary | replica) echo "$1" ;;
	*) die "unknown server '$1': primary or replica" ;;
	esac
}

command=${1:-status}
case "$command" in
start)
	if [ -z "${2:-}" ]; then
		start_pair
	else
		[ -d "$PAIR_DIR/primary/mysql" ] || die "the pair does not exist yet: run '$0 start' first"
		start_server "$(roles_from "$2")"
		[ "$2" = primary ] || configure_replication
	fi
	;;
stop)
	# the replica first, so that it does not retry a primary that went away
	for role in $(roles_from "${2:-}" | tr ' ' '\n' | sort -r); do stop_server "$role"; done
	;;
status) status_pair ;;
pause)
	is_running replica || die "the replica is not running"
	sql replica "STOP SLAVE SQL_THREAD"
	say "The replica receives the primary's changes but no longer applies them ('$0 resume' applies them)"
	;;
resume)
	is_running replica || die "the replica is not running"
	sql replica "START SLAVE"
	say "The replica applies the primary's changes again"
	;;
destroy)
	for role in replica primary; do stop_server "$role"; done
	say "Deleting $PAIR_DIR"
	rm -rf "$PAIR_DIR"
	;;
*) die "usage: $0 start|stop [primary|replica] | status | pause | resume | destroy" ;;
esac
