#!/usr/bin/env bash
# akto-proxy in one command: a real MCP server, the proxy in front of it, and
# a real MCP client calling one allowed and one blocked tool through it.
#
#   examples/demo.sh            (from anywhere; uses the repository's .venv)
#
# Environment: PYTHON (default: <repo>/.venv/bin/python), TWISTD (default:
# <repo>/.venv/bin/twistd), DEMO_TIMEOUT (seconds to wait for each process,
# default 30), DEMO_MODE (the client's --mode: auto, the default, negotiates
# 2026-07-28; legacy uses the initialize handshake, 2025-11-25).  Exit status 0 when both calls behaved as expected.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
TWISTD="${TWISTD:-$ROOT/.venv/bin/twistd}"
DEMO_TIMEOUT="${DEMO_TIMEOUT:-30}"
DEMO_MODE="${DEMO_MODE:-auto}"
PROXY="http://127.0.0.1:8080"      # must match `listen` in examples/demo.yaml
API_KEY="demo-key-0123456789"      # the plain development key in demo.yaml
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONWARNINGS="${PYTHONWARNINGS:-ignore::DeprecationWarning}"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/akto-demo.XXXXXX")"
PROXY_LOG="$WORK/proxy.log"
UPSTREAM_LOG="$WORK/upstream.log"
PROXY_PID=""
UP_PID=""

say() { printf '\n== %s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

stop() {
    # $1: pid; TERM, then KILL if it has not exited within 5 s.
    local pid="$1" i
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local status=$?
    say "stopping"
    stop "$PROXY_PID"
    stop "$UP_PID"
    echo "logs kept in $WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ -x "$PYTHON" ] || die "no python at $PYTHON (create the .venv first)"
[ -x "$TWISTD" ] || die "no twistd at $TWISTD"
if (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null; then
    die "something already listens on 127.0.0.1:8080; stop it first"
fi

# (a) The upstream: a real MCP server (mcp SDK), Streamable HTTP with JSON
# answers, on a free loopback port.  It prints one JSON line once listening:
# {"listening": PORT, "url": "http://127.0.0.1:PORT/mcp", ...}
say "starting the MCP upstream (streamable-json)"
coproc UPSTREAM {
    exec "$PYTHON" -m tests.support.mcp_upstream --transport streamable-json --port 0 2>"$UPSTREAM_LOG"
}
UP_PID=$UPSTREAM_PID    # bash unsets UPSTREAM_PID when the coproc ends
exec {UPSTREAM_OUT}<&"${UPSTREAM[0]}"
if ! read -r -t "$DEMO_TIMEOUT" LINE <&"$UPSTREAM_OUT"; then
    cat "$UPSTREAM_LOG" >&2
    die "the upstream did not start"
fi
echo "$LINE"
PORT="$("$PYTHON" -c 'import json,sys; print(json.loads(sys.argv[1])["listening"])' "$LINE")"
UPSTREAM_URL="http://127.0.0.1:$PORT/mcp"
PROXIED_URL="$PROXY/proxy/http/127.0.0.1:$PORT/mcp"

# (b) The proxy, in the foreground mode of twistd (-n), logging one JSON
# object per line to $PROXY_LOG.
say "starting akto-proxy: twistd -n --pidfile= akto-proxy --config examples/demo.yaml"
"$TWISTD" -n --pidfile= akto-proxy --config examples/demo.yaml >"$PROXY_LOG" 2>&1 &
PROXY_PID=$!
deadline=$((SECONDS + DEMO_TIMEOUT))
until (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null; do
    if ! kill -0 "$PROXY_PID" 2>/dev/null; then
        tail -n 30 "$PROXY_LOG" >&2
        die "the proxy exited during startup (log above)"
    fi
    [ "$SECONDS" -lt "$deadline" ] || die "the proxy is not listening after ${DEMO_TIMEOUT}s"
    sleep 0.1
done
echo "proxy listening on $PROXY (log: $PROXY_LOG)"

# (c) A real MCP client (mcp SDK) through the proxy: echo is relayed,
# read_file of /etc/passwd is blocked by the custom rule and answered with a
# tool result the model can read ("Blocked by akto-proxy: ...", isError true).
say "client -> $PROXIED_URL"
RESULTS="$WORK/client.jsonl"
"$PYTHON" -m tests.support.mcp_client \
    --url "$PROXIED_URL" \
    --header "X-Akto-Api-Key: $API_KEY" \
    --mode "$DEMO_MODE" \
    --timeout 20 \
    --call '{"tool": "echo", "arguments": {"text": "hello through akto-proxy"}}' \
    --call '{"tool": "read_file", "arguments": {"path": "/etc/passwd"}}' \
    >"$RESULTS" || true

STATUS=0
"$PYTHON" - "$RESULTS" <<'PY' || STATUS=$?
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
for line in lines:
    print(json.dumps(line, indent=None)[:600])
calls = [l for l in lines if l.get("action") == "call"]
ok = len(calls) == 2 and all(c.get("ok") for c in calls)
if ok:
    echo, blocked = calls[0]["result"], calls[1]["result"]
    print()
    print("echo      -> isError=%s text=%r" % (echo["isError"], echo["text"]))
    print("read_file -> isError=%s text=%r" % (blocked["isError"], blocked["text"]))
    ok = (not echo["isError"] and echo["text"] == "hello through akto-proxy"
          and blocked["isError"] and blocked["text"].startswith("Blocked by akto-proxy:"))
print()
print("DEMO %s" % ("OK: echo relayed, read_file /etc/passwd blocked" if ok else "FAILED"))
sys.exit(0 if ok else 1)
PY

# Access lines are written in batches (at most 100 ms apart); stopping the
# proxy writes what waits, so every line is in the log before we read it.
stop "$PROXY_PID"
PROXY_PID=""
say "proxy log lines about the blocked call (one JSON object per line)"
grep -E '"blocked": ?true' "$PROXY_LOG" || echo "(none found; full log: $PROXY_LOG)"
"$PYTHON" - "$PROXY_LOG" <<'PY' || true
import json, sys
for line in open(sys.argv[1]):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if e.get("access") and e.get("blocked"):
        for t in e.get("threats_detected", []):
            print("blocked %s %s: check=%s rule=%r at %s" % (e.get("rpc_method"), e.get("name"), t.get("check"), t.get("rule"), t.get("location")))
PY
exit "$STATUS"
