#!/usr/bin/env bash
# A throwaway PostgreSQL on loopback for tests, shared by every script that
# needs one (.ci/run's store stage, scripts/mattermost-e2e.sh).
#
# Sourced:
#
#   source scripts/postgres.sh
#   trap 'pg_stop' EXIT            # the caller owns its traps
#   pg_start "$work"               # data in $work/pg, installs PostgreSQL if missing
#   pg_createdb chatops_test
#   CHATOPS_TEST_POSTGRES_URL=$(pg_url chatops_test) go test ./store/...
#   pg_stop                        # idempotent; leaves $work to the caller
#
# pg_start exports PGHOST=127.0.0.1, PGPORT (a free port), PGUSER=postgres
# and PG_URL (postgres://postgres@127.0.0.1:PORT, no database), so psql and
# createdb work without flags. Authentication is trust on loopback only;
# fsync is off since the data is thrown away.
#
# Run directly (bash scripts/postgres.sh [DB...]) it starts one in a
# temporary directory, creates the databases, prints their URLs and runs
# until interrupted.
#
# As root (CI) it installs the postgresql package with apt-get when missing
# and runs the server as the postgres user; as another user PostgreSQL must
# be installed already.

pg_say() { printf '[postgres] %s\n' "$*"; }
pg_die() { printf '[postgres] FAILED: %s\n' "$*" >&2; exit 1; }

# pg_bindir prints the newest /usr/lib/postgresql/*/bin (Debian's layout).
pg_bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

# pg_install installs the postgresql package when it is missing.
pg_install() {
	[ -n "$(pg_bindir)" ] && return 0
	[ "$(id -u)" = 0 ] || pg_die "PostgreSQL is not installed: apt-get install postgresql, or run as root"
	command -v apt-get >/dev/null || pg_die "PostgreSQL is not installed and there is no apt-get to install it"
	pg_say "installing postgresql with apt-get"
	DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || pg_die "apt-get update failed"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null ||
		pg_die "apt-get install postgresql failed"
	[ -n "$(pg_bindir)" ] || pg_die "no /usr/lib/postgresql/*/bin after installing postgresql"
}

# pg_as runs a command as the server's owner: PostgreSQL refuses to run as
# root, not as other users.
pg_as() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# pg_free_port [EXCEPT] prints a loopback port nobody listens on, other
# than EXCEPT. It is drawn below the kernel's ephemeral range
# (ip_local_port_range, 32768-60999 by default): a port in that range can
# be the local end of any outgoing connection (Mattermost's own connections
# to PostgreSQL, say) between this check and the server's bind, which then
# fails with "address already in use" (it did, in CI).
pg_free_port() {
	local p lo=32768 hi=60999 base span
	read -r lo hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
	if [ "$lo" -gt 11024 ]; then
		base=10000 span=$((lo - 10000)) # below the range
	elif [ "$hi" -lt 64511 ]; then
		base=$((hi + 1)) span=$((65535 - hi)) # above it
	else
		base=10000 span=50000 # no room outside it: the start retries
	fi
	for _ in $(seq 1 100); do
		p=$((base + RANDOM % span))
		[ "$p" != "${1:-}" ] || continue
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
	done
	pg_die "no free loopback port found"
}

PG_DATA=""

# pg_start WORKDIR: initdb in WORKDIR/pg and start the server on a free
# loopback port. WORKDIR must exist; as root it is made traversable for the
# postgres user.
pg_start() {
	local work=${1:?pg_start WORKDIR}
	[ -d "$work" ] || pg_die "pg_start: $work is not a directory"
	[ -z "$PG_DATA" ] || pg_die "pg_start: already started in $PG_DATA"
	pg_install
	PG_BIN=$(pg_bindir)
	[ -x "$PG_BIN/initdb" ] || pg_die "no initdb in $PG_BIN"
	if [ "$(id -u)" = 0 ]; then
		id postgres >/dev/null 2>&1 || pg_die "no postgres user (the postgresql package creates it)"
		chmod go+x "$work"
	fi
	local t=$EPOCHREALTIME port
	port=$(pg_free_port)
	mkdir -p "$work/pg" "$work/pgsock"
	[ "$(id -u)" = 0 ] && chown postgres "$work/pg" "$work/pgsock"
	pg_as "$PG_BIN/initdb" -D "$work/pg" -U postgres --auth=trust -E UTF8 --locale=C >"$work/initdb.log" 2>&1 ||
		{ cat "$work/initdb.log" >&2; pg_die "initdb failed"; }
	pg_as "$PG_BIN/pg_ctl" -D "$work/pg" -l "$work/pg/server.log" -w -t 60 \
		-o "-p $port -k $work/pgsock -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
		start >/dev/null || { cat "$work/pg/server.log" >&2; pg_die "PostgreSQL did not start"; }
	PG_DATA=$work/pg
	export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PG_BIN
	export PG_URL="postgres://postgres@127.0.0.1:$port"
	pg_say "PostgreSQL $("$PG_BIN/postgres" -V | awk '{print $3}') on 127.0.0.1:$port after $(awk -v a="$t" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')s"
}

# pg_createdb NAME creates a database.
pg_createdb() {
	"$PG_BIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres "${1:?pg_createdb NAME}" || pg_die "createdb $1 failed"
}

# pg_url NAME prints the URL of database NAME, for Go's pgx and lib/pq.
pg_url() { printf '%s/%s?sslmode=disable\n' "$PG_URL" "${1:?pg_url NAME}"; }

# pg_stop stops the server pg_start started, at once (the data is thrown
# away). Safe to call twice or without pg_start, so it fits an EXIT trap.
pg_stop() {
	[ -n "$PG_DATA" ] || return 0
	pg_as "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w stop >/dev/null 2>&1 || true
	PG_DATA=""
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	pg_work=$(mktemp -d "${TMPDIR:-/tmp}/chatops-pg.XXXXXX")
	trap 'pg_stop; rm -rf "$pg_work"; pg_say "stopped, removed $pg_work"' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	pg_start "$pg_work"
	for db in "$@"; do
		pg_createdb "$db"
		pg_say "$(pg_url "$db")"
	done
	pg_say "running until interrupted (Ctrl-C)"
	while :; do sleep 3600; done
fi
