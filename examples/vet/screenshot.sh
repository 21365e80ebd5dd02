#!/bin/sh
# screenshot.sh [OUT.png]: builds the demo page (vet -demo -html) and takes a
# PNG screenshot of it with headless Chromium, both inside the loopback-only
# network namespace of .ci/netsandbox (root, chromium and Go needed). The
# README's picture, docs/demo-report.png (the default OUT), is made by it:
#
#	examples/vet/screenshot.sh
#
# SECTION (default block-3, the demo's review block) picks the section the
# screenshot starts at; WIDTH and HEIGHT the window.
set -eu
cd "$(dirname "$0")/../.."
out=$(realpath -m "${1:-docs/demo-report.png}")
section=${SECTION:-block-3}
width=${WIDTH:-1000}
height=${HEIGHT:-1500}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/vet" ./examples/vet
# The demo exits 0 when every block got the verdict its data is built for.
.ci/netsandbox "$tmp/vet" -demo -html "$tmp/demo.html" >/dev/null
mkdir -p "$(dirname "$out")"
# Headless Chromium captures a blank picture when the address has a
# fragment (#block-3); inside an iframe the page scrolls to it on its own.
cat >"$tmp/frame.html" <<FRAME
<!DOCTYPE html><html><head><style>html,body{margin:0;overflow:hidden}
iframe{border:0;width:${width}px;height:${height}px;display:block}</style></head>
<body><iframe src="demo.html#$section"></iframe></body></html>
FRAME
.ci/netsandbox chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
  --user-data-dir="$tmp/profile" --no-first-run --disable-background-networking \
  --disable-component-update --window-size="$width,$height" \
  --screenshot="$out" "file://$tmp/frame.html" 2>"$tmp/chromium.log" ||
  { cat "$tmp/chromium.log" >&2; exit 1; }
if grep ':CONSOLE' "$tmp/chromium.log" >&2; then
  echo "screenshot.sh: the page logged console messages" >&2
  exit 1
fi
echo "wrote $out ($(wc -c <"$out") bytes)"
