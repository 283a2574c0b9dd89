#!/usr/bin/env bash
# From outside, as a new user would: clone the repository, `make run`, open the printed URL,
# log in with a demo login, and stop. Exits non-zero when any step fails.
#   scripts/smoke_fresh_clone.sh [REPO]   (default: this repository)
set -euo pipefail
repo="${1:-$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)}"
work="$(mktemp -d)"
log="$work/run.log"
cleanup() {
  if [ -n "${pid:-}" ]; then kill -TERM -- "-$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

git clone -q "$repo" "$work/kedun"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cd "$work/kedun"
# A fresh environment: no Kedun settings leak in from the caller.
env -u KEDUN_DATABASE_URL -u KEDUN_REDIS_URL -u KEDUN_DATA_DIR PORT="$port" \
  setsid make run >"$log" 2>&1 &
pid=$!

url=""
for _ in $(seq 1 600); do
  url=$(grep -oE 'Kedun is running at http://[0-9.:]+/' "$log" | awk '{print $NF}' || true)
  [ -n "$url" ] && break
  kill -0 "$pid" 2>/dev/null || { echo "make run stopped early:"; cat "$log"; exit 1; }
  sleep 1
done
[ -n "$url" ] || { echo "make run printed no URL in 10 minutes:"; tail -20 "$log"; exit 1; }
grep -q "Demo logins" "$log" || { echo "make run printed no demo logins"; exit 1; }

jar="$work/cookies"
page=$(curl -fsS -c "$jar" "${url}login/")
grep -q 'name="username"' <<<"$page" || { echo "no login form at ${url}login/"; exit 1; }
csrf=$(grep -oE 'name="csrfmiddlewaretoken" value="[^"]+"' <<<"$page" | head -1 | sed 's/.*value="//; s/"$//')
status=$(curl -sS -o /dev/null -w '%{http_code} %{redirect_url}' -b "$jar" -c "$jar" \
  -H "Referer: ${url}login/" --data-urlencode "username=boss" --data-urlencode "password=kedun-demo" \
  --data-urlencode "csrfmiddlewaretoken=$csrf" "${url}login/")
[ "$status" = "302 ${url}" ] || { echo "demo login failed: $status"; exit 1; }
home=$(curl -fsS -b "$jar" "$url")
grep -q '王建国' <<<"$home" || { echo "home page does not greet the boss"; exit 1; }
echo "smoke: OK — make run served $url and the demo login 'boss' works"
