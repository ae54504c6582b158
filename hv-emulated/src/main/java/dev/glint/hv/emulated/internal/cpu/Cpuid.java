package dev.glint.hv.emulated.internal.cpu;

/**
 * What CPUID reports: the features this emulator implements, and nothing else (no x87 beyond state
 * saving, no SSE3 or later, no AVX, no XSAVE). The vendor string is {@code GlintEmulatd}.
 */
final class Cpuid {
  private Cpuid() {}

  /** {@return EAX, EBX, ECX, EDX for {@code leaf}/{@code subleaf}} */
  static int[] leaf(int leaf, int subleaf) {
    return switch (leaf) {
      // "Glin" "tEmu" "latd" in EBX, EDX, ECX
      case 0 -> new int[] {7, 0x6E696C47, 0x6474616C, 0x756D4574};
      case 1 ->
          new int[] {
            0x0006_0F00, // family 6
            0,
            1 << 23, // POPCNT
            1 | 1 << 4 | 1 << 5 | 1 << 6 | 1 << 8 | 1 << 15 | 1 << 16 | 1 << 24 | 1 << 25 | 1 << 26
          };
      case 0x8000_0000 -> new int[] {0x8000_0008, 0, 0, 0};
      case 0x8000_0001 -> new int[] {0, 0, 1 | 1 << 5, 1 << 11 | 1 << 20 | 1 << 27 | 1 << 29};
      case 0x8000_0008 -> new int[] {48 | 48 << 8, 0, 0, 0};
      default -> new int[] {0, 0, 0, 0};
    };
  }
}
