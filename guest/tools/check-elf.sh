#!/usr/bin/env bash
# Checks that a guest ELF satisfies the image rules of docs/guest-abi.md section 3, as the host's
# loader will, so that a guest the loader would refuse fails the build instead.
# Usage: check-elf.sh [--general-regs-only] FILE...   (needs readelf and objdump from binutils)
#
# --general-regs-only also disassembles the guest and refuses SSE/AVX register use and the
# instructions that KVM's emulator gets wrong or cannot run at CPL 0 on PVM hosts (popcnt, lzcnt,
# tzcnt, BMI, ...). The one SSE use allowed is the variadic prologue's `movaps %xmmN, OFF(%rsp)`,
# which runs only when a caller passes doubles.
set -euo pipefail
LC_ALL=C
export LC_ALL

IMAGE_BASE=$((0x200000))
IMAGE_MAX=$((16 << 20))
FILE_MAX=$((64 << 20))
status=0

fail() { echo "check-elf: $1: $2" >&2; status=1; }

general_regs_only=0
if [ "${1:-}" = "--general-regs-only" ]; then
  general_regs_only=1
  shift
fi

for elf in "$@"; do
  header=$(readelf -hW "$elf")
  grep -q 'Class:[[:space:]]*ELF64$' <<<"$header" || fail "$elf" "not ELFCLASS64"
  grep -q "Data:.*little endian" <<<"$header" || fail "$elf" "not little-endian"
  grep -q 'Type:[[:space:]]*EXEC ' <<<"$header" || fail "$elf" "e_type is not ET_EXEC (PIE or shared object?)"
  grep -q 'Machine:[[:space:]]*Advanced Micro Devices X86-64' <<<"$header" || fail "$elf" "e_machine is not x86-64"
  grep -q 'Size of this header:[[:space:]]*64 ' <<<"$header" || fail "$elf" "e_ehsize is not 64"
  grep -q 'Size of program headers:[[:space:]]*56 ' <<<"$header" || fail "$elf" "e_phentsize is not 56"
  phnum=$(sed -n 's/.*Number of program headers:[[:space:]]*\([0-9]*\).*/\1/p' <<<"$header")
  { [ "$phnum" -ge 1 ] && [ "$phnum" -le 16 ]; } || fail "$elf" "e_phnum $phnum outside 1-16"
  entry=$(( $(sed -n 's/.*Entry point address:[[:space:]]*\(0x[0-9a-f]*\).*/\1/p' <<<"$header") ))
  size=$(stat -c %s "$elf")
  [ "$size" -le "$FILE_MAX" ] || fail "$elf" "file larger than 64 MiB"

  # Program headers, one per line: type offset vaddr paddr filesz memsz flags align.
  # readelf -W prints flags as up to three letters separated by spaces ("R E"), so normalise them.
  segments=$(readelf -lW "$elf" | awk '
    /^  [A-Z_]+/ && $2 ~ /^0x/ {
      flags = ""
      for (i = 7; i < NF; i++) flags = flags $i
      print $1, $2, $3, $5, $6, flags
    }')
  loads=0 exec_loads=0 entry_ok=0 prev_end=0
  while read -r type offset vaddr filesz memsz flags; do
    case "$type" in
      LOAD) ;;
      NOTE|GNU_STACK|GNU_PROPERTY|NULL) continue ;;
      *) fail "$elf" "segment type $type is not allowed (only LOAD, NOTE, GNU_STACK, GNU_PROPERTY, NULL)"; continue ;;
    esac
    loads=$((loads + 1))
    off=$((offset)) va=$((vaddr)) fsz=$((filesz)) msz=$((memsz))
    [ "$fsz" -le "$msz" ] || fail "$elf" "LOAD at $vaddr: p_filesz > p_memsz"
    [ $((off + fsz)) -le "$size" ] || fail "$elf" "LOAD at $vaddr: extends past the end of the file"
    [ $((va % 4096)) -eq $((off % 4096)) ] || fail "$elf" "LOAD at $vaddr: p_vaddr and p_offset differ modulo 4096"
    { [ "$va" -ge "$IMAGE_BASE" ] && [ $((va + msz)) -le $((IMAGE_BASE + IMAGE_MAX)) ]; } ||
      fail "$elf" "LOAD at $vaddr: outside the image area [0x200000, 0x1200000)"
    start_page=$((va / 4096)) end_page=$(((va + msz + 4095) / 4096))
    [ "$start_page" -ge "$prev_end" ] || fail "$elf" "LOAD at $vaddr: overlaps the previous segment's pages (or is out of order)"
    prev_end=$end_page
    if [[ "$flags" == *W* && "$flags" == *E* ]]; then fail "$elf" "LOAD at $vaddr: writable and executable"; fi
    if [[ "$flags" == *E* ]]; then
      exec_loads=$((exec_loads + 1))
      if [ "$entry" -ge "$va" ] && [ "$entry" -lt $((va + msz)) ]; then entry_ok=1; fi
    fi
  done <<<"$segments"
  [ "$loads" -ge 1 ] || fail "$elf" "no PT_LOAD segment"
  [ "$exec_loads" -ge 1 ] || fail "$elf" "no executable PT_LOAD segment"
  [ "$entry_ok" -eq 1 ] || fail "$elf" "e_entry is not inside an executable segment"
  if [ "$general_regs_only" -eq 1 ]; then
    bad=$(objdump -d --no-show-raw-insn "$elf" | awk '
      /^[0-9a-f]+ <.*>:$/ { fn = $2; next }
      /%[xyz]mm/ && !/movaps +%xmm[0-7],0x[0-9a-f]+\(%rsp\)$/ { print fn ": " $0; next }
      /\t(popcnt|lzcnt|tzcnt|andn|bextr|blsi|blsr|blsmsk|bzhi|pdep|pext|shlx|shrx|sarx|rorx|mulx|adcx|adox|movbe)/ { print fn ": " $0 }
    ' | head -n 5)
    [ -z "$bad" ] || fail "$elf" "instructions a CPL-0 guest on PVM cannot run (SSE/AVX/BMI/POPCNT):
$bad"
  fi
  [ "$status" -eq 0 ] && echo "check-elf: $elf: ok ($loads LOAD segments, entry $(printf 0x%x "$entry"))"
done
exit "$status"
