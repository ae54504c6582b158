#!/usr/bin/env bash
# Regenerates corpus.txt (mode|bytes|objdump's Intel-syntax disassembly) from the three assembly
# files beside it with GNU as and objdump. The decoder tests read corpus.txt.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for pair in 64:long64:--64: 32:protected32:--32: 16:real16:--32:-mi8086; do
  IFS=: read -r bits name asflag objflag <<<"$pair"
  as "$asflag" "$name.s" -o "$tmp/$name.o"
  opts=intel
  [ "$bits" = 16 ] && opts=intel,data16,addr16
  objdump -d --insn-width=15 -M "$opts" ${objflag:+"$objflag"} "$tmp/$name.o" |
    awk -F'\t' -v m="$bits" 'NF>=3{gsub(/ +$/,"",$2); gsub(/ +/," ",$3); print m "|" $2 "|" $3}'
done >corpus.txt
