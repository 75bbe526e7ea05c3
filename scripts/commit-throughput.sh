#!/bin/sh
# Durable verdicts/s with group commit against flush-per-record (--max-commit-batch 1), at
# 1, 16, 64 and 128 concurrent callers, on the release binary with h2load (Debian package
# nghttp2-client). Every call stores a new verdict (rescreen=true) and is answered only after
# its record is flushed. Runs alternate between the two modes so that machine noise hits both.
#
#   scripts/commit-throughput.sh [requests-per-run]
set -eu
cd "$(dirname "$0")/.."
REQUESTS=${1:-4000}
PORT=50091
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
cargo build --release --quiet
python3 scripts/screen_frame.py "$work/screen.frame"

run() { # mode batch callers
    rm -rf "$work/data"
    RUST_LOG=warn target/release/tradescreen serve --listen 127.0.0.1:$PORT \
        --data-dir "$work/data" --max-commit-batch "$2" &
    server=$!
    # h2load exits 0 even when it cannot connect, so wait for the port itself.
    python3 -c "
import socket, time
for _ in range(100):
    try:
        socket.create_connection(('127.0.0.1', $PORT), 0.2).close(); break
    except OSError:
        time.sleep(0.1)
"

    n=$REQUESTS
    [ "$3" -eq 1 ] && [ "$2" -eq 1 ] && n=$((REQUESTS / 4))
    rate=$(h2load -n "$n" -c "$3" -m 1 -H 'content-type: application/grpc' -H 'te: trailers' \
        -d "$work/screen.frame" http://127.0.0.1:$PORT/tradescreen.v1.ScreeningService/ScreenInvoice |
        awk '/^finished in/ {print $4}')
    kill $server
    wait $server 2>/dev/null || true
    echo "$1 callers=$3 verdicts/s=$rate"
}

for callers in 1 16 64 128; do
    run flush-per-record 1 "$callers"
    run group-commit 1024 "$callers"
done
