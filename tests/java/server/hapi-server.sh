#!/usr/bin/env bash
# Test harness: build, start and stop a HAPI FHIR JPA server (R4, H2 in memory) on 127.0.0.1.
#
#   hapi-server.sh build         build target/classes and copy the dependencies to target/lib
#                                (skipped when target is newer than pom.xml and src/)
#   hapi-server.sh start PORT    build if needed, start in the background, wait until
#                                GET http://127.0.0.1:PORT/fhir/metadata answers 200, print the base URL
#   hapi-server.sh stop          stop the server started by `start` (SIGTERM, then SIGKILL after 30 s)
#   hapi-server.sh status        print the base URL and exit 0 if the server is running, else exit 1
#
# Files: target/server.log (server output), target/server.pid, target/server.port.
# Environment: HAPI_START_TIMEOUT (seconds, default 300), HAPI_JAVA_OPTS (extra JVM options, placed after
#              the defaults so they win), HAPI_MVN_OPTS (extra Maven options, e.g. -o for offline).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TARGET="$HERE/target"
STAMP="$TARGET/.harness-build-stamp"
PID_FILE="$TARGET/server.pid"
PORT_FILE="$TARGET/server.port"
LOG_FILE="$TARGET/server.log"
MAIN_CLASS="org.fhirconv.harness.server.ServerMain"
START_TIMEOUT="${HAPI_START_TIMEOUT:-300}"
# C1 only and the serial collector: on 2 cores this starts in roughly half the time of the JVM defaults and
# halves the resident memory (~0.6 GB instead of ~1.1 GB after start-up); a test server needs no peak throughput.
JAVA_DEFAULT_OPTS=(-Xmx1536m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC)

die() { echo "hapi-server: $*" >&2; exit 1; }

usage() {
	# The header comment of this file, without the shebang.
	sed -n '2,/^[^#]/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
}

need() { command -v "$1" >/dev/null 2>&1 || die "$1 is not on PATH"; }

# HTTP status of a GET, "000" when nothing answers.
http_status() {
	if command -v curl >/dev/null 2>&1; then
		curl -s -o /dev/null -m 5 -w '%{http_code}' "$1" 2>/dev/null || true
	else
		python3 - "$1" <<'EOF' 2>/dev/null || echo 000
import sys, urllib.request, urllib.error
try:
    with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
        print(r.status)
except urllib.error.HTTPError as e:
    print(e.code)
except Exception:
    print("000")
EOF
	fi
}

running_pid() {
	[[ -f "$PID_FILE" ]] || return 1
	local pid
	pid="$(cat "$PID_FILE" 2>/dev/null || true)"
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	# Guard against a recycled pid: it must still be our Java process.
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$MAIN_CLASS" || return 1
	echo "$pid"
}

is_built() {
	[[ -f "$STAMP" && -d "$TARGET/classes" && -d "$TARGET/lib" ]] || return 1
	[[ "$HERE/pom.xml" -nt "$STAMP" ]] && return 1
	[[ -z "$(find "$HERE/src" -newer "$STAMP" -print -quit)" ]]
}

cmd_build() {
	if is_built; then
		echo "hapi-server: build is up to date" >&2
		return 0
	fi
	need java
	need mvn
	echo "hapi-server: building (first build downloads ~300 MB of dependencies)" >&2
	rm -rf "$TARGET/lib" "$STAMP"
	# shellcheck disable=SC2086
	# Maven's output goes to stderr so that `start` prints nothing but the base URL on stdout.
	(cd "$HERE" && mvn -B -q -Dstyle.color=never ${HAPI_MVN_OPTS:-} \
		package dependency:copy-dependencies -DoutputDirectory=target/lib) 1>&2 \
		|| die "maven build failed"
	touch "$STAMP"
}

cmd_start() {
	local port="${1:-}"
	[[ "$port" =~ ^[0-9]+$ ]] && (( port > 0 && port < 65536 )) || die "start needs a port number (1-65535)"
	local base="http://127.0.0.1:$port/fhir"

	local pid
	if pid="$(running_pid)"; then
		die "a server is already running (pid $pid, port $(cat "$PORT_FILE" 2>/dev/null || echo '?')); run '$0 stop' first"
	fi
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		die "port $port on 127.0.0.1 is already in use"
	fi

	cmd_build
	need java

	mkdir -p "$TARGET"
	# shellcheck disable=SC2086
	nohup java "${JAVA_DEFAULT_OPTS[@]}" ${HAPI_JAVA_OPTS:-} -cp "$TARGET/classes:$TARGET/lib/*" "$MAIN_CLASS" "$port" \
		</dev/null >"$LOG_FILE" 2>&1 &
	pid=$!
	echo "$pid" >"$PID_FILE"
	echo "$port" >"$PORT_FILE"

	local deadline=$(( SECONDS + START_TIMEOUT ))
	while (( SECONDS < deadline )); do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "hapi-server: the server exited during start-up; last lines of $LOG_FILE:" >&2
			tail -n 60 "$LOG_FILE" >&2 || true
			rm -f "$PID_FILE" "$PORT_FILE"
			exit 1
		fi
		if [[ "$(http_status "$base/metadata")" == "200" ]]; then
			echo "$base"
			return 0
		fi
		sleep 1
	done

	echo "hapi-server: no 200 from $base/metadata after ${START_TIMEOUT}s; last lines of $LOG_FILE:" >&2
	tail -n 60 "$LOG_FILE" >&2 || true
	cmd_stop >/dev/null 2>&1 || true
	exit 1
}

cmd_stop() {
	local pid
	if ! pid="$(running_pid)"; then
		rm -f "$PID_FILE" "$PORT_FILE"
		echo "hapi-server: not running" >&2
		return 0
	fi
	kill -TERM "$pid" 2>/dev/null || true
	local i
	for (( i = 0; i < 300; i++ )); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "hapi-server: pid $pid ignored SIGTERM for 30 s, killing it" >&2
		kill -KILL "$pid" 2>/dev/null || true
		while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
	fi
	rm -f "$PID_FILE" "$PORT_FILE"
	echo "hapi-server: stopped (pid $pid)" >&2
}

cmd_status() {
	local pid
	if pid="$(running_pid)"; then
		echo "http://127.0.0.1:$(cat "$PORT_FILE")/fhir"
		return 0
	fi
	echo "hapi-server: not running" >&2
	return 1
}

case "${1:-}" in
	build) cmd_build ;;
	start) shift; cmd_start "$@" ;;
	stop) cmd_stop ;;
	status) cmd_status ;;
	*) usage ;;
esac
