package dev.glint.hv.x86;

import dev.glint.hv.DescriptorTable;
import dev.glint.hv.Segment;
import dev.glint.hv.SpecialRegisters;

/**
 * The special registers that put a vCPU straight into 64-bit long mode, at CPL 0 or CPL 3, over
 * system tables the host has written: a {@link Gdt} at {@code gdtAddress}, an {@link
 * InterruptDescriptorTable}, a {@link TaskStateSegment} and page tables from {@link
 * PageTableBuilder}. An immutable value.
 *
 * <p>CR0 = PE|MP|ET|NE|WP|PG ({@link #CR0}), CR4 = PAE|OSFXSR|OSXMMEXCPT ({@link #CR4}: SSE usable,
 * no global pages), EFER = SCE|LME|LMA|NXE ({@link #EFER}); the task register holds the busy TSS
 * (needed for RSP0 on every fault from CPL 3, and for the I/O permission bitmap); LDT unusable.
 *
 * @param gdtAddress the guest address of the {@link Gdt}
 * @param idt the IDTR (use a zero limit for a guest with no handlers: every exception then
 *     triple-faults)
 * @param tssAddress the guest address of the TSS
 * @param tssLimit the TSS's limit, {@link TaskStateSegment#limit()}
 * @param cr3 the page-table root, {@link PageTables#cr3()}
 */
public record LongMode(
    long gdtAddress, DescriptorTable idt, long tssAddress, int tssLimit, long cr3) {

  /** CR0 in long mode: protected mode, paging, write protection at CPL 0, native FPU errors. */
  public static final long CR0 =
      X86.CR0_PE | X86.CR0_MP | X86.CR0_ET | X86.CR0_NE | X86.CR0_WP | X86.CR0_PG;

  /** CR4 in long mode: PAE (required) and SSE enabled. */
  public static final long CR4 = X86.CR4_PAE | X86.CR4_OSFXSR | X86.CR4_OSXMMEXCPT;

  /** EFER in long mode: long mode enabled and active, {@code syscall} and the NX bit enabled. */
  public static final long EFER = X86.EFER_SCE | X86.EFER_LME | X86.EFER_LMA | X86.EFER_NXE;

  /**
   * The IA32_APIC_BASE value at reset: the default base 0xFEE00000, enabled (bit 11), bootstrap
   * processor (bit 8).
   */
  public static final long APIC_BASE = 0xFEE0_0000L | 1L << 11 | 1L << 8;

  /** Checks the values. */
  public LongMode {
    java.util.Objects.requireNonNull(idt, "idt");
    if ((cr3 & 0xFFF) != 0) {
      throw new IllegalArgumentException(
          "CR3 0x%x must be a page-aligned page-table address".formatted(cr3));
    }
    Gdt.taskRegister(tssAddress, tssLimit); // validates the limit
  }

  /** {@return the special registers for CPL 0: kernel code and data segments} */
  public SpecialRegisters kernelMode() {
    return specialRegisters(Gdt.kernelCode(), Gdt.kernelData());
  }

  /**
   * {@return the special registers for CPL 3: user code, user data in SS, DS, ES, FS and GS}
   * Interrupts and exceptions then enter the IDT's handlers at CPL 0 on the TSS's RSP0 stack.
   */
  public SpecialRegisters userMode() {
    return specialRegisters(Gdt.userCode(), Gdt.userData());
  }

  private SpecialRegisters specialRegisters(Segment code, Segment data) {
    return new SpecialRegisters(
        code,
        data,
        data,
        data,
        data,
        data,
        Gdt.taskRegister(tssAddress, tssLimit),
        unusableLdt(),
        Gdt.register(gdtAddress),
        idt,
        CR0,
        0,
        cr3,
        CR4,
        0,
        EFER,
        APIC_BASE);
  }

  /** The LDT register with no LDT: unusable, type 2 (LDT) as the architecture describes it. */
  static Segment unusableLdt() {
    return new Segment(0, 0, 0, 0x2, false, 0, false, true, false, false, true);
  }
}
