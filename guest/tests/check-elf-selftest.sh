#!/usr/bin/env bash
# Proves that tools/check-elf.sh refuses what ABI 3 forbids: builds deliberately broken variants of
# the hello guest and expects a refusal for each, and accepts the real one.
# Usage: check-elf-selftest.sh BUILD_DIR   (run by `make check`)
set -uo pipefail
build=$1
dir=$build/elf-selftest
mkdir -p "$dir"
CFLAGS=(-O2 -ffreestanding -fno-pic -fno-pie -mno-red-zone -fno-stack-protector -fcf-protection=none
        -fno-asynchronous-unwind-tables -Isdk/include)
LDFLAGS=(-nostdlib -static -no-pie -Wl,-z,noexecstack -Wl,-z,max-page-size=4096 -Wl,--build-id=none)
objs=("$build/sdk/start.o" "$build/samples/hello.o" "$build/libglint.a" -lgcc)
passed=0 failed=0

expect() { # expect ok|refused NAME FILE [REASON [OPTION]]: REASON must appear in the refusal
  local want=$1 name=$2 file=$3 reason=${4:-} option=${5:-}
  if tools/check-elf.sh $option "$file" >"$dir/$name.log" 2>&1; then got=ok; else got=refused; fi
  if [ -n "$reason" ] && [ "$got" = refused ] && ! grep -q -- "$reason" "$dir/$name.log"; then
    got="refused for another reason"
  fi
  if [ "$got" = "$want" ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL check-elf selftest $name: expected $want, got $got" >&2
    cat "$dir/$name.log" >&2
  fi
}

# The real guest passes.
expect ok real "$build/../guest-bin/hello.elf" "" --general-regs-only
# -N (omagic): one segment that is readable, writable and executable.
gcc "${LDFLAGS[@]}" -Wl,-N -Wl,-Ttext=0x200000 -o "$dir/wx.elf" "${objs[@]}" 2>/dev/null
expect refused writable-and-executable "$dir/wx.elf" "writable and executable"
# Linked below the image area.
gcc "${LDFLAGS[@]}" -Wl,-Ttext-segment=0x10000 -o "$dir/low.elf" "${objs[@]}" 2>/dev/null
expect refused below-image-area "$dir/low.elf" "outside the image area"
# Entry point outside any executable segment.
gcc "${LDFLAGS[@]}" -Wl,-T,sdk/glint.ld -Wl,-e,0x100000 -o "$dir/entry.elf" "${objs[@]}" 2>/dev/null
expect refused entry-outside-text "$dir/entry.elf" "e_entry is not inside"
# A dynamically linked (PIE) executable: ET_DYN, PT_INTERP, PT_DYNAMIC.
echo 'int main(void){return 0;}' | gcc -x c -fpie -pie -o "$dir/pie.elf" - 2>/dev/null
expect refused pie "$dir/pie.elf" "e_type is not ET_EXEC"
# Thread-local storage: PT_TLS.
printf '__thread int t = 1;\nint main(void){return t;}\n' | gcc -x c -static -o "$dir/tls.elf" - 2>/dev/null
expect refused tls "$dir/tls.elf" "segment type TLS"
# SSE arithmetic in a guest that claims general registers only.
printf '#include <glint.h>\ndouble g(double a, double b) { return a * b + 1.0; }\n' \
  | gcc "${CFLAGS[@]}" -x c -c -o "$dir/sse.o" -
gcc "${LDFLAGS[@]}" -Wl,-T,sdk/glint.ld -Wl,-u,g -o "$dir/sse.elf" "$dir/sse.o" "${objs[@]}" 2>/dev/null
expect refused sse "$dir/sse.elf" "cannot run" --general-regs-only
expect ok sse-allowed "$dir/sse.elf"
# popcnt (KVM's emulator stops the VM on it at CPL 0).
printf 'int p(unsigned long x) { return __builtin_popcountl(x); }\n' \
  | gcc "${CFLAGS[@]}" -mpopcnt -x c -c -o "$dir/popcnt.o" -
gcc "${LDFLAGS[@]}" -Wl,-T,sdk/glint.ld -Wl,-u,p -o "$dir/popcnt.elf" "$dir/popcnt.o" "${objs[@]}" 2>/dev/null
expect refused popcnt "$dir/popcnt.elf" "cannot run" --general-regs-only

echo "check-elf selftest:"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
