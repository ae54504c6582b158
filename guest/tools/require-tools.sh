#!/bin/sh
# Fails with a clear message when a tool the guest build needs is missing (run by Maven first).
# gcc and make build the guests; ar, readelf and objdump (binutils) build and check them;
# sha256sum (coreutils) is the reference of the SHA-256 test.
missing=""
for tool in gcc make ar readelf objdump sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then
  echo "glint-guest: cannot build the guest SDK and sample guests: missing tool(s):$missing." >&2
  echo "glint-guest: on Debian or Ubuntu install them with: sudo apt-get install build-essential" >&2
  echo "glint-guest: (gcc, make, ar, readelf and objdump come with build-essential and its binutils; sha256sum with coreutils)" >&2
  exit 1
fi
