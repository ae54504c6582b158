#!/usr/bin/env bash
# Runs every check of `make check` and prints their sum as the closing "N passed, N failed" line.
# Each check prints its own "N passed, N failed" line last; a check that exits non-zero without
# reporting a failure (a crash, a sanitizer report) counts as one failure. Exit 77 from the KVM
# run means /dev/kvm is not available here: reported as skipped, not failed.
# Usage: run-checks.sh BUILD_DIR BIN_DIR
set -uo pipefail
build=$1 bin=$2
passed=0 failed=0

run() { # run NAME COMMAND...
  local name=$1 out rc
  shift
  out=$("$@" 2>&1)
  rc=$?
  printf '%s\n' "$out"
  if [ "$rc" -eq 77 ]; then
    echo "($name skipped)"
    return
  fi
  local line p f
  line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
  if [ -n "$line" ]; then
    p=${line%% passed*}
    f=${line#*, }
    f=${f%% failed}
  else
    p=0 f=0
  fi
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "($name exited with $rc)"; fi
  passed=$((passed + p))
  failed=$((failed + f))
}

run "SDK unit tests" bash -c "cd '$build/tests' && ./sdk-tests"
run "ELF check self-test" tests/check-elf-selftest.sh "$build"
run "sample guests on KVM" "$build/tests/run-guests" "$bin"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
