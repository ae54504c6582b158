package dev.glint.hv.emulated.internal.cpu;

import dev.glint.hv.emulated.internal.fault.GuestFault;

/** FXSAVE and FXRSTOR: the 512-byte legacy area (Intel SDM Vol. 1, 10.5.1), 64-bit layout. */
final class FxArea {
  private FxArea() {}

  static void save(Cpu c, long addr) {
    if ((addr & 15) != 0) {
      throw c.fault.of(GuestFault.GP, 0);
    }
    c.mmu.checkWritable(addr, 512);
    c.mmu.write(addr, 2, c.fcw);
    c.mmu.write(addr + 2, 2, c.fsw);
    c.mmu.write(addr + 4, 1, c.ftw);
    c.mmu.write(addr + 6, 2, c.fop);
    c.mmu.write(addr + 8, 8, c.fip);
    c.mmu.write(addr + 16, 8, c.fdp);
    c.mmu.write(addr + 24, 4, c.mxcsr);
    c.mmu.write(addr + 28, 4, 0xFFFF);
    for (int i = 0; i < 128; i += 8) {
      c.mmu.write(addr + 32 + i, 8, bytesToLong(c.x87, i));
    }
    for (int i = 0; i < 32; i++) {
      c.mmu.write(addr + 160 + i * 8L, 8, c.xmm[i]);
    }
  }

  static void restore(Cpu c, long addr) {
    if ((addr & 15) != 0) {
      throw c.fault.of(GuestFault.GP, 0);
    }
    long mxcsr = c.mmu.read(addr + 24, 4);
    if ((mxcsr & ~0xFFFFL) != 0) {
      throw c.fault.of(GuestFault.GP, 0);
    }
    long[] x87 = new long[16];
    for (int i = 0; i < 16; i++) {
      x87[i] = c.mmu.read(addr + 32 + i * 8L, 8);
    }
    long[] xmm = new long[32];
    for (int i = 0; i < 32; i++) {
      xmm[i] = c.mmu.read(addr + 160 + i * 8L, 8);
    }
    c.fcw = (int) c.mmu.read(addr, 2);
    c.fsw = (int) c.mmu.read(addr + 2, 2);
    c.ftw = (int) c.mmu.read(addr + 4, 1);
    c.fop = (int) c.mmu.read(addr + 6, 2);
    c.fip = c.mmu.read(addr + 8, 8);
    c.fdp = c.mmu.read(addr + 16, 8);
    c.mxcsr = (int) mxcsr;
    for (int i = 0; i < 16; i++) {
      for (int b = 0; b < 8; b++) {
        c.x87[i * 8 + b] = (byte) (x87[i] >>> (8 * b));
      }
    }
    System.arraycopy(xmm, 0, c.xmm, 0, 32);
  }

  private static long bytesToLong(byte[] bytes, int at) {
    long v = 0;
    for (int b = 0; b < 8; b++) {
      v |= (bytes[at + b] & 0xFFL) << (8 * b);
    }
    return v;
  }
}
