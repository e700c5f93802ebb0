#!/usr/bin/env bash
# Runs the Mattermost adapter's integration tests (adapters/mattermost/mmlive)
# against a real Mattermost server on loopback:
#
#   1. builds Mattermost 9.9.0 from the Go module proxy with the wrapper
#      module in scripts/mattermost-server, cached outside the repo in
#      ${XDG_CACHE_HOME:-$HOME/.cache}/chatops-mattermost/<version> (cold:
#      a few minutes; warm: nothing to do);
#   2. starts a throwaway PostgreSQL (scripts/postgres.sh; installed with
#      apt-get when missing) and the server, each on a free loopback port
#      with its data in a temporary directory;
#   3. bootstraps an admin, a team, a channel, a user "alice" and a bot
#      "chatops" with an access token through the REST API;
#   4. runs `go test -race -count=1 ./adapters/mattermost/mmlive/...` with
#      the CHATOPS_MM_* variables set (extra arguments go to go test, e.g.
#      `bash scripts/mattermost-e2e.sh -run TestDirectMessage`);
#   5. always stops both processes and removes their data.
#
# Runs as root (CI: PostgreSQL then runs as the postgres user and missing
# packages are installed) or as a user with PostgreSQL, curl and jq installed.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

MM_VERSION=v8.0.0-20240520151130-4bdd8bb18e47 # Mattermost 9.9.0, see scripts/mattermost-server/go.mod
cache_root=${XDG_CACHE_HOME:-$HOME/.cache}/chatops-mattermost
cache=$cache_root/$MM_VERSION

say() { printf '[mattermost-e2e] %s\n' "$*"; }
die() { printf '[mattermost-e2e] FAILED: %s\n' "$*" >&2; exit 1; }
clock() { echo "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# --- Tools -------------------------------------------------------------
apt_updated=""
install_pkgs() { # install_pkgs PKG...: Debian packages, as root only
	[ "$(id -u)" = 0 ] || die "missing $*: install them (apt-get install $*) or run as root"
	command -v apt-get >/dev/null || die "missing $* and no apt-get to install them"
	say "installing $* with apt-get"
	if [ -z "$apt_updated" ]; then
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || die "apt-get update failed"
		apt_updated=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null ||
		die "apt-get install $* failed"
}
command -v go >/dev/null || die "go is not on PATH"
missing=()
command -v curl >/dev/null || missing+=(curl ca-certificates)
command -v jq >/dev/null || missing+=(jq)
[ "${#missing[@]}" = 0 ] || install_pkgs "${missing[@]}"
# PostgreSQL: installed now, so a missing package fails before the build.
source "$repo/scripts/postgres.sh"
pg_install

# --- 1. The server binary and its assets, built once per version --------
t=$(clock)
if [ -x "$cache/bin/mattermost" ] && [ -d "$cache/i18n" ] && [ -d "$cache/templates" ] && [ -d "$cache/fonts" ]; then
	say "Mattermost $MM_VERSION cached in $cache"
else
	say "building Mattermost $MM_VERSION into $cache (cold: about 3 minutes on 2 cores, ~700 MB of modules)"
	mkdir -p "$cache_root"
	tmp=$(mktemp -d "$cache_root/.build.XXXXXX")
	# Built in a temporary directory and renamed, so an interrupted build
	# never leaves a half-written binary in the cache.
	(
		cd scripts/mattermost-server
		export GOWORK=off GOFLAGS=-mod=readonly
		go build -buildvcs=false -o "$tmp/bin/mattermost" github.com/mattermost/mattermost/server/v8/cmd/mattermost
		moddir=$(go list -m -f '{{.Dir}}' github.com/mattermost/mattermost/server/v8)
		for d in i18n templates fonts; do cp -r "$moddir/$d" "$tmp/"; done
	) || { rm -rf "$tmp"; die "building the Mattermost server failed (output above)"; }
	chmod -R u+w,go+rX "$tmp"
	rm -rf "$cache"
	mv "$tmp" "$cache"
	say "built in $(since "$t")s"
fi
t_build=$(since "$t")

# --- 2. PostgreSQL ------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/chatops-mm.XXXXXX")
chmod 755 "$work" # the postgres user must reach its data directory
export CHATOPS_MM_STATE=$work
ctl=$repo/scripts/mattermost-ctl.sh
cleanup() {
	local status=$?
	set +e
	trap - EXIT INT TERM
	if [ -f "$work/mm.env" ]; then
		if [ "$status" != 0 ] && [ -f "$work/mm/logs/mattermost.log" ]; then
			say "last server errors:"
			grep -E '"level":"(error|fatal)"' "$work/mm/logs/mattermost.log" | tail -n 10
		fi
		bash "$ctl" stop "$work"
	fi
	pg_stop
	rm -rf "$work"
	say "stopped Mattermost and PostgreSQL, removed $work"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

pg_start "$work"
pgport=$PGPORT
pg_createdb mattermost

# --- 3. The Mattermost server -------------------------------------------
mkdir -p "$work/mm/config" "$work/mm/logs" "$work/mm/data"
for d in i18n templates fonts; do ln -s "$cache/$d" "$work/mm/$d"; done
# write_env PORT: the server's settings, for the ctl script to source.
write_env() {
	local mmport=$1
	url=http://127.0.0.1:$mmport
	cat >"$work/mm.env" <<EOF
export MM_BIN='$cache/bin/mattermost'
export MM_URL='$url'
export MM_SQLSETTINGS_DRIVERNAME=postgres
export MM_SQLSETTINGS_DATASOURCE='postgres://postgres@127.0.0.1:$pgport/mattermost?sslmode=disable&connect_timeout=10'
export MM_SERVICESETTINGS_SITEURL='$url'
export MM_SERVICESETTINGS_LISTENADDRESS='127.0.0.1:$mmport'
export MM_SERVICESETTINGS_ENABLEBOTACCOUNTCREATION=true
export MM_SERVICESETTINGS_ENABLEUSERACCESSTOKENS=true
export MM_SERVICESETTINGS_ENABLELOCALMODE=true
export MM_SERVICESETTINGS_LOCALMODESOCKETLOCATION='$work/mm/local.sock'
export MM_SERVICESETTINGS_ENABLEDEVELOPER=false
export MM_SERVICESETTINGS_ENABLESECURITYFIXALERT=false
export MM_TEAMSETTINGS_ENABLEOPENSERVER=true
export MM_PLUGINSETTINGS_ENABLE=false
export MM_PLUGINSETTINGS_ENABLEUPLOADS=false
export MM_RATELIMITSETTINGS_ENABLE=false
export MM_LOGSETTINGS_ENABLECONSOLE=false
export MM_LOGSETTINGS_FILELOCATION='$work/mm/logs'
export MM_NOTIFICATIONLOGSETTINGS_FILELOCATION='$work/mm/logs'
export MM_FILESETTINGS_DIRECTORY='$work/mm/data'
export MM_EMAILSETTINGS_SENDEMAILNOTIFICATIONS=false
export MM_LOGSETTINGS_ENABLEDIAGNOSTICS=false
export MM_SERVICESETTINGS_ENABLEONBOARDINGFLOW=false
# Slash commands post to the test's HTTP server on loopback, which the
# server refuses unless allowed (the host as typed, and the address).
export MM_SERVICESETTINGS_ALLOWEDUNTRUSTEDINTERNALCONNECTIONS='127.0.0.1 127.0.0.1/32'
EOF
}
# The port is free when drawn, but another process may bind it before the
# server does; a start that lost that race is tried again on another port.
t=$(clock)
for attempt in 1 2 3; do
	mmport=$(pg_free_port "$pgport") || die "no free loopback port for Mattermost"
	write_env "$mmport"
	if bash "$ctl" start "$work"; then break; fi
	if [ "$attempt" -lt 3 ] && grep -qs 'address already in use' "$work/mm/logs/mattermost.log" "$work/mm/stdout.log"; then
		say "port taken before the server bound it; trying another"
		: >"$work/mm/logs/mattermost.log"
		: >"$work/mm/stdout.log"
		continue
	fi
	die "the Mattermost server did not start"
done
t_start=$(since "$t")
say "Mattermost on $url answered ping after ${t_start}s"

# --- 4. Bootstrap through the REST API ----------------------------------
api() { # api METHOD PATH TOKEN [BODY]: prints the response body
	local out
	if ! out=$(curl -sS --fail-with-body -X "$1" "$url/api/v4$2" ${3:+-H "Authorization: Bearer $3"} \
		-H 'Content-Type: application/json' ${4:+-d "$4"} 2>&1); then
		die "$1 /api/v4$2 answered: $out"
	fi
	printf '%s' "$out"
}
login() { # login USER PASSWORD: prints a session token
	local headers
	headers=$(curl -sS --fail-with-body -D - -o /dev/null -X POST "$url/api/v4/users/login" \
		-H 'Content-Type: application/json' -d "{\"login_id\":\"$1\",\"password\":\"$2\"}") ||
		die "login as $1 failed: $headers"
	printf '%s' "$headers" | tr -d '\r' | awk 'tolower($1)=="token:" { print $2 }'
}
id_of() { jq -er "$1" || die "unexpected response, no $1"; }
pw=Chatops-e2e-pass-1
# The first user on a fresh server is its system admin.
api POST /users "" "{\"email\":\"admin@example.com\",\"username\":\"admin\",\"password\":\"$pw\"}" >/dev/null
admin=$(login admin "$pw")
[ -n "$admin" ] || die "no session token for admin"
team=$(api POST /teams "$admin" '{"name":"eng","display_name":"Engineering","type":"O"}' | id_of .id)
channel=$(api POST /channels "$admin" "{\"team_id\":\"$team\",\"name\":\"ops\",\"display_name\":\"Ops\",\"type\":\"O\"}" | id_of .id)
user=$(api POST /users "$admin" "{\"email\":\"alice@example.com\",\"username\":\"alice\",\"password\":\"$pw\"}" | id_of .id)
usertoken=$(login alice "$pw")
[ -n "$usertoken" ] || die "no session token for alice"
bot=$(api POST /bots "$admin" '{"username":"chatops","display_name":"chatops","description":"chatops e2e"}' | id_of .user_id)
bottoken=$(api POST "/users/$bot/tokens" "$admin" '{"description":"chatops e2e"}' | id_of .token)
for u in "$user" "$bot"; do
	api POST "/teams/$team/members" "$admin" "{\"team_id\":\"$team\",\"user_id\":\"$u\"}" >/dev/null
	api POST "/channels/$channel/members" "$admin" "{\"user_id\":\"$u\"}" >/dev/null
done
say "bootstrapped: team eng ($team), channel ops ($channel), user alice ($user), bot chatops ($bot)"

# --- 5. The tests -------------------------------------------------------
export CHATOPS_MM_URL=$url CHATOPS_MM_CTL=$ctl
export CHATOPS_MM_ADMIN_TOKEN=$admin
export CHATOPS_MM_BOT_TOKEN=$bottoken CHATOPS_MM_BOT_ID=$bot CHATOPS_MM_BOT_NAME=chatops
export CHATOPS_MM_USER_TOKEN=$usertoken CHATOPS_MM_USER_ID=$user
export CHATOPS_MM_TEAM_ID=$team CHATOPS_MM_CHANNEL_ID=$channel
t=$(clock)
set +e
go test -race -count=1 -timeout 15m -v ./adapters/mattermost/mmlive/... "$@" 2>&1 | tee "$work/test.log"
status=${PIPESTATUS[0]}
set -e
t_test=$(since "$t")
say "timings: server binary ${t_build}s (build or cache), server start ${t_start}s, tests ${t_test}s"
[ "$status" = 0 ] || die "the integration tests failed (go test exit $status, output above)"
say "passed"
