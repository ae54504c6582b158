#!/usr/bin/env bash
# The demo server under load (issue 5): starts `bin/glint serve`, runs `hey -n 1000 -c 5` against
# /hyperlight/hello-world/warm, /hyperlight/hello-world/cold and /noop, and prints a markdown table
# of average and p99 latency with the goals. Installs `hey` from Debian packages when missing.
#
#   benchmarks/load/run.sh [requests] [concurrency] [port]
set -euo pipefail
cd "$(dirname "$0")/../.."
requests="${1:-1000}"
concurrency="${2:-5}"
port="${3:-8080}"
base="http://127.0.0.1:$port"

if ! command -v hey >/dev/null; then
  echo "hey is missing: installing it from Debian packages (apt-get install hey)" >&2
  if [ "$(id -u)" -eq 0 ]; then apt-get install -y -q hey >&2; else sudo apt-get install -y -q hey >&2; fi
fi
for tool in curl awk sort; do
  command -v "$tool" >/dev/null || { echo "$tool is missing" >&2; exit 1; }
done

log="$(mktemp -t glint-serve.XXXXXX.log)"
bin/glint serve --port "$port" >"$log" 2>&1 &
server=$!
stop() {
  kill -TERM "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
}
trap stop EXIT
for _ in $(seq 1 600); do
  curl -fsS "$base/noop" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { echo "the server stopped; its log:" >&2; cat "$log" >&2; exit 1; }
  sleep 0.2
done
curl -fsS "$base/noop" >/dev/null || { echo "the server did not start; its log:" >&2; cat "$log" >&2; exit 1; }

# One route under load: "requests ok average_ms p99_ms", from hey's per-request CSV.
measure() {
  hey -n "$requests" -c "$concurrency" -o csv "$base$1" |
    awk -F, 'NR > 1 && $1 ~ /^[0-9.]+$/ { n++; sum += $1; if ($7 == 200) ok++; print $1 > "/dev/stderr" }
             END { printf "%d %d %.3f\n", n, ok, (n ? sum / n * 1000 : 0) }' 2>"$tmp" |
    { read -r n ok avg; p99="$(sort -g "$tmp" | awk -v n="$n" 'NR == int(n * 0.99 + 0.999) { printf "%.3f", $1 * 1000 }')"; echo "$n $ok $avg $p99"; }
}
tmp="$(mktemp)"

# Warm-up: the JIT compiles the request path before anything is measured.
for route in /noop /hyperlight/hello-world/warm /hyperlight/hello-world/cold; do
  hey -n 2000 -c "$concurrency" "$base$route" >/dev/null
done

echo "hey -n $requests -c $concurrency against bin/glint serve, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "| route | requests | status 200 | average | p99 | goal |"
echo "|---|---:|---:|---:|---:|---|"
for route in /hyperlight/hello-world/warm /hyperlight/hello-world/cold /noop; do
  read -r n ok avg p99 <<<"$(measure "$route")"
  case "$route" in
    */warm) goal="≤ 0.3 ms average"; limit=0.3 ;;
    */cold) goal="≤ 1 ms average"; limit=1.0 ;;
    *) goal="— (floor: no sandbox)"; limit="" ;;
  esac
  if [ -n "$limit" ]; then
    goal="$goal $(awk -v a="$avg" -v l="$limit" 'BEGIN { print (a <= l) ? "(met)" : "(NOT met)" }')"
  fi
  echo "| \`$route\` | $n | $ok | $avg ms | $p99 ms | $goal |"
done
rm -f "$tmp"
