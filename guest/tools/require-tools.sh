#!/bin/sh
# Fails with a clear message when a tool the guest build needs is missing (run by Maven first).
missing=""
for tool in gcc make ar readelf; do
  command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then
  echo "glint-guest: cannot build the guest SDK and sample guests: missing tool(s):$missing." >&2
  echo "glint-guest: on Debian or Ubuntu install them with: sudo apt-get install build-essential" >&2
  echo "glint-guest: (gcc, make, ar and readelf come with build-essential and its binutils)" >&2
  exit 1
fi
