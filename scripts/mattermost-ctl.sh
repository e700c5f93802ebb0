#!/usr/bin/env bash
# Starts, stops or restarts the throwaway Mattermost server that
# scripts/mattermost-e2e.sh set up. The e2e script calls it to start the
# server; the integration tests call it (CHATOPS_MM_CTL) to restart the
# server mid-conversation.
#
#   scripts/mattermost-ctl.sh start|stop|restart|status [state-dir]
#
# The state directory (default $CHATOPS_MM_STATE) holds mm.env (the
# server's MM_* settings, its binary and URL), mm.pid and the server's
# working directory mm/.
set -euo pipefail

cmd=${1:-}
state=${2:-${CHATOPS_MM_STATE:-}}
die() { printf '[mattermost-ctl] %s\n' "$*" >&2; exit 1; }
[ -n "$state" ] || die "no state directory: pass it as the second argument or set CHATOPS_MM_STATE"
[ -f "$state/mm.env" ] || die "$state/mm.env is missing: was the server set up by scripts/mattermost-e2e.sh?"
# shellcheck disable=SC1091
source "$state/mm.env"

pidfile=$state/mm.pid
running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

start() {
	if running; then die "already running (pid $(cat "$pidfile"))"; fi
	# The server outlives this script (the e2e script's trap stops it by
	# pid); its output goes to a file so no caller waits on our pipes.
	(cd "$state/mm" && exec "$MM_BIN" server >>"$state/mm/stdout.log" 2>&1 </dev/null) &
	echo $! >"$pidfile"
	local deadline=$((SECONDS + ${MM_START_TIMEOUT:-120}))
	until curl -fsS -o /dev/null "$MM_URL/api/v4/system/ping" 2>/dev/null; do
		if ! running; then
			tail -n 30 "$state/mm/stdout.log" "$state/mm/logs/mattermost.log" >&2 2>/dev/null || true
			die "the server exited during start (logs above)"
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			tail -n 30 "$state/mm/stdout.log" "$state/mm/logs/mattermost.log" >&2 2>/dev/null || true
			die "no answer on $MM_URL/api/v4/system/ping after ${MM_START_TIMEOUT:-120}s (logs above)"
		fi
		sleep 0.2
	done
}

# stop asks the server to shut down, and kills it when it has not within
# 20 s (Mattermost's graceful shutdown can hang when its database is gone).
stop() {
	running || { rm -f "$pidfile"; return 0; }
	local pid
	pid=$(cat "$pidfile")
	kill -TERM "$pid" 2>/dev/null || true
	local deadline=$((SECONDS + 20))
	while kill -0 "$pid" 2>/dev/null; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			echo "[mattermost-ctl] server $pid ignored SIGTERM for 20s; killing it" >&2
			kill -KILL "$pid" 2>/dev/null || true
		fi
		sleep 0.1
	done
	rm -f "$pidfile"
}

case "$cmd" in
start) start ;;
stop) stop ;;
restart) stop; start ;;
status) if running; then echo "running (pid $(cat "$pidfile")) on $MM_URL"; else echo "stopped"; exit 3; fi ;;
*) die "usage: $0 start|stop|restart|status [state-dir]" ;;
esac
