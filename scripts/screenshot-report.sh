#!/usr/bin/env bash
# screenshot-report.sh STUDY_DIR OUT.png — render the HTML report of a study
# directory and screenshot it with headless Chromium (Debian's `chromium`),
# so a person can look at the page without a browser session.
#
#   scripts/screenshot-report.sh report/testdata/generated-study /tmp/report.png
#
# The page and its plot files are written beside OUT.png in OUT_report/. Needs Go and chromium
# (apt-get install -y chromium). WINDOW=1400,2400 sets the viewport.
set -euo pipefail

if [ $# -ne 2 ]; then
	echo "usage: $0 STUDY_DIR OUT.png" >&2
	exit 2
fi
study=$(cd "$1" && pwd) || exit 2
mkdir -p "$(dirname "$2")"
out=$(cd "$(dirname "$2")" && pwd)/$(basename "$2") || exit 2
html="${out%.png}.html"
window="${WINDOW:-1400,2400}"
repo=$(cd "$(dirname "$0")/.." && pwd)

browser=""
for b in chromium chromium-browser google-chrome; do
	if command -v "$b" >/dev/null 2>&1; then
		browser=$b
		break
	fi
done
if [ -z "$browser" ]; then
	echo "$0: no chromium found; install it with: apt-get install -y chromium" >&2
	exit 1
fi

# Render with llem itself: `llem report DIR --format html --out FOLDER`.
pagedir="${out%.png}_report"
(cd "$repo" && go run ./cmd/llem report "$study" --format html --out "$pagedir" >/dev/null)
html="$pagedir/report.html"

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
	--disable-background-networking --disable-component-update --disable-sync \
	--hide-scrollbars --user-data-dir="$profile" --window-size="$window" \
	--screenshot="$out" "file://$html" >/dev/null 2>&1
if [ ! -s "$out" ]; then
	echo "$0: chromium wrote no screenshot to $out" >&2
	exit 1
fi
echo "$html"
echo "$out"
