/*
 * The firmware for the QEMU microvm reference: a 64 KiB flat image that QEMU maps just below
 * 4 GiB (-bios), so its last 16 bytes hold the reset vector, the first instruction a new x86 CPU
 * runs. That instruction sequence writes to isa-debug-exit (port 0x501), which ends QEMU at once
 * with exit status (0x21 << 1) | 1 = 67: the status proves the guest ran. Nothing else runs.
 *
 * Assembled with gcc and turned into a flat binary with objcopy by
 * dev.glint.benchmarks.PeerBenchmark; written for this project.
 */
  .code16
  .text
  .org 0xfff0
reset_vector:
  mov $0x501, %dx
  mov $0x21, %al
  out %al, %dx
1:
  hlt
  jmp 1b
  /* QEMU takes firmware images in multiples of 64 KiB. */
  .org 0x10000
