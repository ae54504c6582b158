package dev.glint.hv.x86;

/** Architectural x86-64 constants (Intel SDM volume 3, AMD APM volume 2). */
public final class X86 {
  private X86() {}

  /** CR0.PE: protected mode. */
  public static final long CR0_PE = 1L;

  /** CR0.MP: monitor coprocessor. */
  public static final long CR0_MP = 1L << 1;

  /** CR0.EM: x87 emulation (must be clear for SSE). */
  public static final long CR0_EM = 1L << 2;

  /** CR0.ET: extension type, fixed to 1. */
  public static final long CR0_ET = 1L << 4;

  /** CR0.NE: native FPU error reporting. */
  public static final long CR0_NE = 1L << 5;

  /** CR0.WP: supervisor writes honour read-only pages. */
  public static final long CR0_WP = 1L << 16;

  /** CR0.AM: alignment mask. */
  public static final long CR0_AM = 1L << 18;

  /** CR0.PG: paging. */
  public static final long CR0_PG = 1L << 31;

  /** CR4.PAE: physical address extension, required for long mode. */
  public static final long CR4_PAE = 1L << 5;

  /** CR4.PGE: global pages. */
  public static final long CR4_PGE = 1L << 7;

  /** CR4.OSFXSR: the OS supports FXSAVE/FXRSTOR, enabling SSE. */
  public static final long CR4_OSFXSR = 1L << 9;

  /** CR4.OSXMMEXCPT: the OS handles SIMD floating-point exceptions. */
  public static final long CR4_OSXMMEXCPT = 1L << 10;

  /** EFER.SCE: syscall enable. */
  public static final long EFER_SCE = 1L;

  /** EFER.LME: long mode enable. */
  public static final long EFER_LME = 1L << 8;

  /** EFER.LMA: long mode active. */
  public static final long EFER_LMA = 1L << 10;

  /** EFER.NXE: no-execute page bit enable. */
  public static final long EFER_NXE = 1L << 11;

  /** Page-table entry: present. */
  public static final long PTE_PRESENT = 1L;

  /** Page-table entry: writable. */
  public static final long PTE_WRITABLE = 1L << 1;

  /** Page-table entry: user-accessible (U/S). */
  public static final long PTE_USER = 1L << 2;

  /** Page-table entry: accessed. */
  public static final long PTE_ACCESSED = 1L << 5;

  /** Page-table entry: dirty. */
  public static final long PTE_DIRTY = 1L << 6;

  /** Page-directory entry: 2 MiB page (PS). */
  public static final long PTE_LARGE = 1L << 7;

  /** Page-table entry: no-execute (needs EFER.NXE). */
  public static final long PTE_NO_EXECUTE = 1L << 63;

  /** Mask of the physical-address bits of a page-table entry. */
  public static final long PTE_ADDRESS_MASK = 0x000F_FFFF_FFFF_F000L;

  /** Divide error, #DE. */
  public static final int VECTOR_DE = 0;

  /** Debug, #DB. */
  public static final int VECTOR_DB = 1;

  /** Breakpoint, #BP. */
  public static final int VECTOR_BP = 3;

  /** Invalid opcode, #UD. */
  public static final int VECTOR_UD = 6;

  /** Double fault, #DF. */
  public static final int VECTOR_DF = 8;

  /** General protection, #GP. */
  public static final int VECTOR_GP = 13;

  /** Page fault, #PF. */
  public static final int VECTOR_PF = 14;

  /** #PF error code: the page was present (protection violation). */
  public static final int PF_PRESENT = 1;

  /** #PF error code: the access was a write. */
  public static final int PF_WRITE = 1 << 1;

  /** #PF error code: the access came from CPL 3. */
  public static final int PF_USER = 1 << 2;

  /** #PF error code: the access was an instruction fetch. */
  public static final int PF_FETCH = 1 << 4;
}
