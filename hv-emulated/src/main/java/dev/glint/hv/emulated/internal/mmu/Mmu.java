package dev.glint.hv.emulated.internal.mmu;

import dev.glint.hv.emulated.internal.fault.GuestFault;
import dev.glint.hv.emulated.internal.memory.PhysicalMemory;
import dev.glint.hv.emulated.internal.memory.Region;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashSet;
import java.util.Set;

/**
 * Linear-to-physical translation and every guest memory access: 4-level paging (present, write,
 * user and no-execute checks, CR0.WP, accessed and dirty bits, 2 MiB and 1 GiB pages), identity
 * translation without paging, a direct-mapped TLB of host addresses, MMIO for unbacked addresses,
 * and dirty-page marking.
 *
 * <p>The TLB is the fast path: an entry names the host memory of a linear page and what may be done
 * with it. Write access is granted in the TLB only once the page's dirty bit is set, the write is
 * recorded for dirty tracking, and the page holds no decoded code, so that every write needing
 * attention takes the slow path. It is flushed on CR3 and paging-mode changes, {@code invlpg} (one
 * entry), a change of the physical memory map, and a new dirty-tracking interval.
 *
 * <p>Confined to the vCPU's thread.
 */
public final class Mmu {
  private static final int TLB_BITS = 10;
  private static final int TLB_SIZE = 1 << TLB_BITS;
  private static final int TLB_MASK = TLB_SIZE - 1;

  static final int R_SUP = 1;
  static final int R_USER = 2;
  static final int W_SUP = 4;
  static final int W_USER = 8;
  static final int X_SUP = 16;
  static final int X_USER = 32;
  static final int FAST_WRITE = 64;

  /** The page's dirty bit is set: a write translation was made. */
  static final int WRITTEN = 128;

  private static final int ALL = R_SUP | R_USER | W_SUP | W_USER | X_SUP | X_USER;

  /** Access kinds. */
  public static final int READ = 0;

  /** A write access. */
  public static final int WRITE = 1;

  /** An instruction fetch. */
  public static final int FETCH = 2;

  private static final long PTE_P = 1;
  private static final long PTE_RW = 1 << 1;
  private static final long PTE_US = 1 << 2;
  private static final long PTE_A = 1 << 5;
  private static final long PTE_D = 1 << 6;
  private static final long PTE_PS = 1 << 7;
  private static final long PTE_XD = 1L << 63;
  private static final long ADDRESS = 0x000F_FFFF_FFFF_F000L;

  private static final int PF_P = 1;
  private static final int PF_W = 2;
  private static final int PF_U = 4;
  private static final int PF_RSVD = 8;
  private static final int PF_I = 16;

  private static final ValueLayout.OfByte B = ValueLayout.JAVA_BYTE;
  private static final ValueLayout.OfShort S = ValueLayout.JAVA_SHORT_UNALIGNED;
  private static final ValueLayout.OfInt I = ValueLayout.JAVA_INT_UNALIGNED;
  private static final ValueLayout.OfLong L = ValueLayout.JAVA_LONG_UNALIGNED;

  private final long[] tlbPage = new long[TLB_SIZE];
  private final int[] tlbPerm = new int[TLB_SIZE];
  private final MemorySegment[] tlbHost = new MemorySegment[TLB_SIZE];
  private final long[] tlbOffset = new long[TLB_SIZE];
  private final long[] tlbGpa = new long[TLB_SIZE];
  private final Region[] tlbRegion = new Region[TLB_SIZE];

  private final PhysicalMemory physical;
  private final MmioHandler mmio;
  private final GuestFault fault;
  private final Set<Long> codePages = new HashSet<>();
  private final long[] walked = new long[4];
  private long generation = -1;
  private long epoch;

  private boolean paging;
  private boolean writeProtect;
  private boolean noExecute;
  private long pageTableRoot;
  private long addressMask = 0xFFFF_FFFFL;
  private boolean user;
  private int readMask = R_SUP;
  private int writeMask = W_SUP | FAST_WRITE;
  private int fetchMask = X_SUP;

  /** Creates the MMU of one vCPU. */
  public Mmu(PhysicalMemory physical, MmioHandler mmio, GuestFault fault) {
    this.physical = physical;
    this.mmio = mmio;
    this.fault = fault;
    flush();
  }

  /**
   * Sets the paging mode from the control registers; flushes the TLB when it changed.
   *
   * @param cr0 CR0 (PG, WP)
   * @param cr3 CR3 (the PML4's address)
   * @param cr4 CR4 (PAE)
   * @param efer EFER (LMA, NXE)
   * @return false if paging is on in a mode this MMU does not implement (32-bit or PAE paging
   *     outside long mode)
   */
  public boolean configure(long cr0, long cr3, long cr4, long efer) {
    boolean pg = (cr0 & (1L << 31)) != 0;
    boolean lma = (efer & (1L << 10)) != 0;
    boolean wp = (cr0 & (1L << 16)) != 0;
    boolean nxe = (efer & (1L << 11)) != 0;
    long root = cr3 & ADDRESS;
    long mask = lma ? -1L : 0xFFFF_FFFFL;
    if (pg != paging
        || wp != writeProtect
        || nxe != noExecute
        || root != pageTableRoot
        || mask != addressMask) {
      paging = pg;
      writeProtect = wp;
      noExecute = nxe;
      pageTableRoot = root;
      addressMask = mask;
      flush();
    }
    return !pg || (lma && (cr4 & (1L << 5)) != 0);
  }

  /** Sets the privilege level accesses are checked against (3: user, else supervisor). */
  public void setCpl(int cpl) {
    epoch++;
    user = cpl == 3;
    readMask = user ? R_USER : R_SUP;
    writeMask = (user ? W_USER : W_SUP) | FAST_WRITE;
    fetchMask = user ? X_USER : X_SUP;
  }

  /** Drops every translation. */
  public void flush() {
    epoch++;
    java.util.Arrays.fill(tlbPage, -1L);
    java.util.Arrays.fill(tlbHost, null);
    java.util.Arrays.fill(tlbRegion, null);
  }

  /** Drops the translation of the page holding {@code linear} ({@code invlpg}). */
  public void flushPage(long linear) {
    long page = (linear & addressMask) >>> 12;
    int i = (int) page & TLB_MASK;
    epoch++;
    if (tlbPage[i] == page) {
      tlbPage[i] = -1;
    }
    // A large page covers many 4 KiB entries: be safe and drop them all.
    if (paging) {
      flush();
    }
  }

  /** Flushes if the physical memory map changed since the last call. */
  public void syncWithPhysicalMemory() {
    long current = physical.generation();
    if (current != generation) {
      generation = current;
      codePages.clear();
      flush();
    }
  }

  /** {@return a counter that changes whenever a translation may have changed} */
  public long epoch() {
    return epoch;
  }

  /** {@return the physical memory map} */
  public PhysicalMemory physical() {
    return physical;
  }

  // ---- Fast paths: the current privilege level. ----

  /** {@return the {@code size}-byte value (1, 2, 4 or 8) at {@code linear}, zero-extended} */
  public long read(long linear, int size) {
    long page = linear >>> 12;
    int i = (int) page & TLB_MASK;
    int offset = (int) linear & 0xFFF;
    MemorySegment host = tlbHost[i];
    if (tlbPage[i] == page
        && (tlbPerm[i] & readMask) != 0
        && offset <= 4096 - size
        && host != null) {
      long at = tlbOffset[i] + offset;
      return switch (size) {
        case 1 -> host.get(B, at) & 0xFFL;
        case 2 -> host.get(S, at) & 0xFFFFL;
        case 4 -> host.get(I, at) & 0xFFFF_FFFFL;
        default -> host.get(L, at);
      };
    }
    return readSlow(linear, size, user);
  }

  /** Writes the low {@code size} bytes (1, 2, 4 or 8) of {@code value} at {@code linear}. */
  public void write(long linear, int size, long value) {
    long page = linear >>> 12;
    int i = (int) page & TLB_MASK;
    int offset = (int) linear & 0xFFF;
    if (tlbPage[i] == page && (tlbPerm[i] & writeMask) == writeMask && offset <= 4096 - size) {
      MemorySegment host = tlbHost[i];
      long at = tlbOffset[i] + offset;
      switch (size) {
        case 1 -> host.set(B, at, (byte) value);
        case 2 -> host.set(S, at, (short) value);
        case 4 -> host.set(I, at, (int) value);
        default -> host.set(L, at, value);
      }
      return;
    }
    writeSlow(linear, size, value, user);
  }

  /** Checks that {@code size} bytes at {@code linear} may be written, without writing them. */
  public void checkWritable(long linear, int size) {
    entry(linear & addressMask, WRITE, user);
    long last = linear + size - 1;
    if ((last >>> 12) != (linear >>> 12)) {
      entry(last & addressMask, WRITE, user);
    }
  }

  // ---- Supervisor accesses (descriptor tables, TSS, the stack of an exception delivery). ----

  /** As {@link #read}, with supervisor rights whatever the privilege level. */
  public long readSupervisor(long linear, int size) {
    return readSlow(linear, size, false);
  }

  /** As {@link #write}, with supervisor rights whatever the privilege level. */
  public void writeSupervisor(long linear, int size, long value) {
    writeSlow(linear, size, value, false);
  }

  // ---- Instruction fetch. ----

  /**
   * Translates {@code linear} for an instruction fetch at the current privilege level.
   *
   * @return the TLB slot now holding the page ({@link #slotHost}, {@link #slotGpaPage})
   * @throws GuestFault a page fault if the page may not be executed
   */
  public int translateFetch(long linear) {
    return entry(linear & addressMask, FETCH, user);
  }

  /** {@return the host memory of the page in {@code slot}, or null for MMIO} */
  public MemorySegment slotHost(int slot) {
    return tlbHost[slot];
  }

  /** {@return the offset of the page in {@code slot} within {@link #slotHost}} */
  public long slotOffset(int slot) {
    return tlbOffset[slot];
  }

  /** {@return the guest-physical address of the page in {@code slot}} */
  public long slotGpaPage(int slot) {
    return tlbGpa[slot];
  }

  /**
   * Marks the physical page {@code gpaPage} as holding decoded code: guest writes to it take the
   * slow path, which reports them through {@link MmioHandler#codeWritten}.
   */
  public void watchCode(long gpaPage) {
    if (codePages.add(gpaPage)) {
      for (int i = 0; i < TLB_SIZE; i++) {
        if (tlbPage[i] != -1 && tlbGpa[i] == gpaPage) {
          tlbPerm[i] &= ~FAST_WRITE;
        }
      }
    }
  }

  /** Stops watching {@code gpaPage} (its decoded code was dropped). */
  public void unwatchCode(long gpaPage) {
    codePages.remove(gpaPage);
  }

  // ---- Slow paths. ----

  private long readSlow(long linear, int size, boolean asUser) {
    linear &= addressMask;
    int offset = (int) linear & 0xFFF;
    if (offset <= 4096 - size) {
      int i = entry(linear, READ, asUser);
      return readSlot(i, offset, size);
    }
    // Crossing a page: both pages must be readable before anything is read.
    long next = (linear + size) & addressMask & ~0xFFFL;
    entry(linear, READ, asUser);
    entry(next, READ, asUser);
    long value = 0;
    for (int k = 0; k < size; k++) {
      long at = (linear + k) & addressMask;
      int i = entry(at, READ, asUser);
      value |= readSlot(i, (int) at & 0xFFF, 1) << (8 * k);
    }
    return value;
  }

  private long readSlot(int i, int offset, int size) {
    MemorySegment host = tlbHost[i];
    if (host == null) {
      return mmio.mmioRead(tlbGpa[i] + offset, size);
    }
    long at = tlbOffset[i] + offset;
    return switch (size) {
      case 1 -> host.get(B, at) & 0xFFL;
      case 2 -> host.get(S, at) & 0xFFFFL;
      case 4 -> host.get(I, at) & 0xFFFF_FFFFL;
      default -> host.get(L, at);
    };
  }

  private void writeSlow(long linear, int size, long value, boolean asUser) {
    linear &= addressMask;
    int offset = (int) linear & 0xFFF;
    if (offset <= 4096 - size) {
      int i = entry(linear, WRITE, asUser);
      writeSlot(i, offset, size, value);
      return;
    }
    long next = (linear + size) & addressMask & ~0xFFFL;
    entry(linear, WRITE, asUser);
    entry(next, WRITE, asUser);
    for (int k = 0; k < size; k++) {
      long at = (linear + k) & addressMask;
      int i = entry(at, WRITE, asUser);
      writeSlot(i, (int) at & 0xFFF, 1, value >>> (8 * k));
    }
  }

  private void writeSlot(int i, int offset, int size, long value) {
    Region region = tlbRegion[i];
    long gpa = tlbGpa[i] + offset;
    if (region == null || !region.writable()) {
      mmio.mmioWrite(gpa, size, size == 8 ? value : value & ((1L << (8 * size)) - 1));
      return;
    }
    if (codePages.contains(tlbGpa[i])) {
      mmio.codeWritten(tlbGpa[i]);
    }
    region.markDirty(gpa);
    MemorySegment host = tlbHost[i];
    long at = tlbOffset[i] + offset;
    switch (size) {
      case 1 -> host.set(B, at, (byte) value);
      case 2 -> host.set(S, at, (short) value);
      case 4 -> host.set(I, at, (int) value);
      default -> host.set(L, at, value);
    }
  }

  /** {@return the TLB slot of the page holding {@code linear}, filled for {@code access}} */
  private int entry(long linear, int access, boolean asUser) {
    long page = linear >>> 12;
    int i = (int) page & TLB_MASK;
    int need = need(access, asUser);
    if (tlbPage[i] == page && (tlbPerm[i] & need) == need) {
      return i;
    }
    fill(i, linear, access, asUser);
    return i;
  }

  private static int need(int access, boolean asUser) {
    return switch (access) {
      case READ -> asUser ? R_USER : R_SUP;
      case WRITE -> (asUser ? W_USER : W_SUP) | WRITTEN;
      default -> asUser ? X_USER : X_SUP;
    };
  }

  private void fill(int slot, long linear, int access, boolean asUser) {
    long gpa;
    int perm;
    if (!paging) {
      gpa = linear & ~0xFFFL;
      perm = ALL;
    } else {
      long[] walk = walked;
      long table = pageTableRoot;
      boolean userOk = true;
      boolean writeOk = true;
      boolean execOk = true;
      long leaf = 0;
      long pageSize = 0;
      int depth = 0;
      for (int level = 4; level >= 1; level--) {
        long entryAddress = table + ((linear >>> (3 + 9 * level)) & 511) * 8;
        long e = readPhysical(entryAddress);
        walk[depth++] = entryAddress;
        if ((e & PTE_P) == 0) {
          throw fault.pageFault(linear, errorCode(0, access, asUser));
        }
        if ((e & PTE_XD) != 0 && !noExecute) {
          throw fault.pageFault(linear, errorCode(PF_P | PF_RSVD, access, asUser));
        }
        userOk &= (e & PTE_US) != 0;
        writeOk &= (e & PTE_RW) != 0;
        execOk &= (e & PTE_XD) == 0;
        if (level == 1 || (level <= 3 && (e & PTE_PS) != 0)) {
          leaf = e;
          pageSize = 1L << (3 + 9 * level);
          break;
        }
        table = e & ADDRESS;
      }
      perm =
          R_SUP
              | (userOk ? R_USER : 0)
              | (writeOk || !writeProtect ? W_SUP : 0)
              | (userOk && writeOk ? W_USER : 0)
              | (execOk ? X_SUP : 0)
              | (userOk && execOk ? X_USER : 0);
      int need = need(access, asUser) & ~WRITTEN;
      if ((perm & need) != need) {
        throw fault.pageFault(linear, errorCode(PF_P, access, asUser));
      }
      // The walk succeeded: set the accessed bits, and the dirty bit for a write.
      for (int k = 0; k < depth; k++) {
        long e = readPhysical(walk[k]);
        long updated = e | PTE_A;
        if (k == depth - 1 && access == WRITE) {
          updated |= PTE_D;
        }
        if (updated != e) {
          writePhysical(walk[k], updated);
        }
      }
      gpa = (leaf & ADDRESS & ~(pageSize - 1)) | (linear & (pageSize - 1) & ~0xFFFL);
    }
    if (access == WRITE) {
      perm |= WRITTEN;
    }
    Region region = physical.find(gpa);
    tlbPage[slot] = linear >>> 12;
    tlbGpa[slot] = gpa;
    tlbRegion[slot] = region;
    if (region == null) {
      tlbHost[slot] = null;
      tlbOffset[slot] = 0;
    } else {
      tlbHost[slot] = region.host();
      tlbOffset[slot] = gpa - region.start();
      if (access == WRITE && region.writable() && !codePages.contains(gpa)) {
        region.markDirty(gpa);
        perm |= FAST_WRITE;
      }
    }
    tlbPerm[slot] = perm;
  }

  private int errorCode(int bits, int access, boolean asUser) {
    return bits
        | (access == WRITE ? PF_W : 0)
        | (asUser ? PF_U : 0)
        | (access == FETCH && noExecute ? PF_I : 0);
  }

  /** Reads a page-table entry; memory no region backs reads as zero (not present). */
  private long readPhysical(long gpa) {
    Region region = physical.find(gpa);
    if (region == null) {
      return 0;
    }
    return region.host().get(L, gpa - region.start());
  }

  private void writePhysical(long gpa, long value) {
    Region region = physical.find(gpa);
    if (region == null || !region.writable()) {
      return; // a page table in ROM keeps its bits, as with real ROM
    }
    long page = gpa & ~0xFFFL;
    if (codePages.contains(page)) {
      mmio.codeWritten(page);
    }
    region.markDirty(gpa);
    region.host().set(L, gpa - region.start(), value);
  }
}
