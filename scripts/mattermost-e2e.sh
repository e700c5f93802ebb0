#!/usr/bin/env bash
# Runs the Mattermost adapter's integration tests against a real
# Mattermost server on loopback: builds the server from the Go module proxy
# (cached outside the repo), starts a throwaway PostgreSQL and the server,
# bootstraps a team, a channel, a user and a bot, runs the tests, and
# always stops both processes and removes their data.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

MM_VERSION=v8.0.0-20240520151130-4bdd8bb18e47 # Mattermost 9.9.0
cache=${XDG_CACHE_HOME:-$HOME/.cache}/chatops-mattermost/$MM_VERSION
say() { printf '[mattermost-e2e] %s\n' "$*"; }
now() { date +%s; }
t0=$(now)

# 1. The server binary and its assets, built once per version.
if [ ! -x "$cache/bin/mattermost" ]; then
	say "building Mattermost $MM_VERSION (cold: a few minutes)"
	mkdir -p "$cache/bin"
	(cd scripts/mattermost-server && GOFLAGS=-mod=mod go build -o "$cache/bin/mattermost" github.com/mattermost/mattermost/server/v8/cmd/mattermost)
	moddir=$(cd scripts/mattermost-server && GOFLAGS=-mod=mod go list -m -f '{{.Dir}}' github.com/mattermost/mattermost/server/v8)
	for d in i18n templates fonts; do cp -r "$moddir/$d" "$cache/"; done
	chmod -R u+w "$cache"
fi
t_build=$(( $(now) - t0 ))
say "server binary ready after ${t_build}s"

# 2. PostgreSQL.
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$pgbin" ]; then
	say "installing PostgreSQL"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
	pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi
id postgres >/dev/null 2>&1 || { say "no postgres user"; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

work=$(mktemp -d /tmp/chatops-mm.XXXXXX)
chmod 755 "$work"
pgport=$(free_port)
mmport=$(free_port)
mmpid=""
cleanup() {
	set +e
	[ -n "$mmpid" ] && kill "$mmpid" 2>/dev/null && wait "$mmpid" 2>/dev/null
	[ -f "$work/mm.pid" ] && kill "$(cat "$work/mm.pid")" 2>/dev/null
	[ -d "$work/pg" ] && runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/pg" "$work/pgsock"
chown postgres "$work/pg" "$work/pgsock"
runuser -u postgres -- "$pgbin/initdb" -D "$work/pg" -U postgres --auth=trust >/dev/null
runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg" -l "$work/pg/log" -w \
	-o "-p $pgport -k $work/pgsock -c listen_addresses=127.0.0.1" start >/dev/null
runuser -u postgres -- "$pgbin/createdb" -h 127.0.0.1 -p "$pgport" mattermost
say "PostgreSQL on 127.0.0.1:$pgport"

# 3. The Mattermost server.
mkdir -p "$work/mm/config" "$work/mm/logs" "$work/mm/data"
for d in i18n templates fonts; do ln -s "$cache/$d" "$work/mm/$d"; done
export MM_SQLSETTINGS_DRIVERNAME=postgres
export MM_SQLSETTINGS_DATASOURCE="postgres://postgres@127.0.0.1:$pgport/mattermost?sslmode=disable&connect_timeout=10"
export MM_SERVICESETTINGS_SITEURL="http://127.0.0.1:$mmport"
export MM_SERVICESETTINGS_LISTENADDRESS="127.0.0.1:$mmport"
export MM_SERVICESETTINGS_ENABLEBOTACCOUNTCREATION=true
export MM_SERVICESETTINGS_ENABLEUSERACCESSTOKENS=true
export MM_SERVICESETTINGS_ENABLELOCALMODE=true
export MM_SERVICESETTINGS_LOCALMODESOCKETLOCATION="$work/mm/local.sock"
export MM_TEAMSETTINGS_ENABLEOPENSERVER=true
export MM_PLUGINSETTINGS_ENABLE=false
export MM_RATELIMITSETTINGS_ENABLE=false
export MM_LOGSETTINGS_ENABLECONSOLE=false
export MM_LOGSETTINGS_FILELOCATION="$work/mm/logs"
export MM_FILESETTINGS_DIRECTORY="$work/mm/data"
export MM_EMAILSETTINGS_SENDEMAILNOTIFICATIONS=false
url="http://127.0.0.1:$mmport"

# The restart helper the tests call: stop, wait, start, wait for ping.
cat > "$work/ctl.sh" <<CTL
#!/usr/bin/env bash
set -euo pipefail
case "\${1:-}" in
stop) kill "\$(cat $work/mm.pid)"; while kill -0 "\$(cat $work/mm.pid)" 2>/dev/null; do sleep 0.1; done ;;
start) (cd $work/mm && exec "$cache/bin/mattermost" server >>"$work/mm/stdout.log" 2>&1) & echo \$! > $work/mm.pid
       for i in \$(seq 1 300); do curl -fsS "$url/api/v4/system/ping" >/dev/null 2>&1 && exit 0; sleep 0.2; done; echo "no ping" >&2; exit 1 ;;
*) echo "usage: ctl.sh stop|start" >&2; exit 2 ;;
esac
CTL
chmod +x "$work/ctl.sh"
t1=$(now)
"$work/ctl.sh" start || { say "server did not answer ping"; tail -50 "$work/mm/stdout.log" "$work/mm/logs/mattermost.log" 2>/dev/null; exit 1; }
t_start=$(( $(now) - t1 ))
say "Mattermost on $url after ${t_start}s"

# 4. Bootstrap through the REST API.
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
api() { # api METHOD PATH TOKEN [BODY]
	curl -fsS -X "$1" "$url/api/v4$2" -H "Authorization: Bearer $3" -H 'Content-Type: application/json' ${4:+-d "$4"}
}
curl -fsS -X POST "$url/api/v4/users" -H 'Content-Type: application/json' \
	-d '{"email":"admin@example.com","username":"admin","password":"Admin-pass-123!"}' >/dev/null
admin=$(curl -fsS -i -X POST "$url/api/v4/users/login" -H 'Content-Type: application/json' \
	-d '{"login_id":"admin","password":"Admin-pass-123!"}' | tr -d '\r' | awk 'tolower($1)=="token:"{print $2}')
team=$(api POST /teams "$admin" '{"name":"eng","display_name":"Engineering","type":"O"}' | json "['id']")
channel=$(api POST /channels "$admin" "{\"team_id\":\"$team\",\"name\":\"ops\",\"display_name\":\"Ops\",\"type\":\"O\"}" | json "['id']")
user=$(api POST /users "$admin" '{"email":"alice@example.com","username":"alice","password":"Alice-pass-123!"}' | json "['id']")
usertoken=$(curl -fsS -i -X POST "$url/api/v4/users/login" -H 'Content-Type: application/json' \
	-d '{"login_id":"alice","password":"Alice-pass-123!"}' | tr -d '\r' | awk 'tolower($1)=="token:"{print $2}')
bot=$(api POST /bots "$admin" '{"username":"chatops","display_name":"chatops"}' | json "['user_id']")
bottoken=$(api POST "/users/$bot/tokens" "$admin" '{"description":"chatops e2e"}' | json "['token']")
for u in "$user" "$bot"; do
	api POST "/teams/$team/members" "$admin" "{\"team_id\":\"$team\",\"user_id\":\"$u\"}" >/dev/null
	api POST "/channels/$channel/members" "$admin" "{\"user_id\":\"$u\"}" >/dev/null
done
say "bootstrapped team $team, channel $channel, user alice, bot chatops"

# 5. The tests.
export CHATOPS_MM_URL="$url" CHATOPS_MM_BOT_TOKEN="$bottoken" CHATOPS_MM_BOT_ID="$bot"
export CHATOPS_MM_USER_TOKEN="$usertoken" CHATOPS_MM_USER_ID="$user" CHATOPS_MM_TEAM_ID="$team"
export CHATOPS_MM_CHANNEL_ID="$channel" CHATOPS_MM_CTL="$work/ctl.sh"
t2=$(now)
cd "$repo"
set +e
go test -race -count=1 -v ./adapters/mattermost/mmlive/ >"$work/test.log" 2>&1
status=$?
set -e
grep -E '^(--- |PASS|FAIL|ok)|_test.go:' "$work/test.log" || true
t_test=$(( $(now) - t2 ))
say "timings: build or cache ${t_build}s, server start ${t_start}s, tests ${t_test}s"
if [ "$status" -ne 0 ]; then
	tail -40 "$work/test.log"
	say "FAILED"
	exit "$status"
fi
say "passed"
