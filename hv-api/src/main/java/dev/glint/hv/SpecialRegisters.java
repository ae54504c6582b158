package dev.glint.hv;

/**
 * The segment, descriptor-table, control and model-specific registers that set a vCPU's mode: an
 * immutable value. {@link dev.glint.hv.x86.LongMode} builds the usual long-mode values.
 *
 * @param cs code segment
 * @param ds data segment
 * @param es extra segment
 * @param fs FS
 * @param gs GS
 * @param ss stack segment
 * @param tr task register
 * @param ldt local descriptor table register
 * @param gdt global descriptor table register
 * @param idt interrupt descriptor table register
 * @param cr0 CR0
 * @param cr2 CR2, the last page-fault linear address
 * @param cr3 CR3, the page-table root (a guest-physical address)
 * @param cr4 CR4
 * @param cr8 CR8, the task-priority register
 * @param efer the IA32_EFER MSR
 * @param apicBase the IA32_APIC_BASE MSR
 */
public record SpecialRegisters(
    Segment cs,
    Segment ds,
    Segment es,
    Segment fs,
    Segment gs,
    Segment ss,
    Segment tr,
    Segment ldt,
    DescriptorTable gdt,
    DescriptorTable idt,
    long cr0,
    long cr2,
    long cr3,
    long cr4,
    long cr8,
    long efer,
    long apicBase) {

  /** Requires every segment and table. */
  public SpecialRegisters {
    java.util.Objects.requireNonNull(cs, "cs");
    java.util.Objects.requireNonNull(ds, "ds");
    java.util.Objects.requireNonNull(es, "es");
    java.util.Objects.requireNonNull(fs, "fs");
    java.util.Objects.requireNonNull(gs, "gs");
    java.util.Objects.requireNonNull(ss, "ss");
    java.util.Objects.requireNonNull(tr, "tr");
    java.util.Objects.requireNonNull(ldt, "ldt");
    java.util.Objects.requireNonNull(gdt, "gdt");
    java.util.Objects.requireNonNull(idt, "idt");
  }

  /** {@return the current privilege level, the DPL of the code segment} */
  public int cpl() {
    return cs.dpl();
  }

  /** {@return a copy with CR2 set} */
  public SpecialRegisters withCr2(long value) {
    return new SpecialRegisters(
        cs, ds, es, fs, gs, ss, tr, ldt, gdt, idt, cr0, value, cr3, cr4, cr8, efer, apicBase);
  }

  /** {@return a copy with CR3 set} */
  public SpecialRegisters withCr3(long value) {
    return new SpecialRegisters(
        cs, ds, es, fs, gs, ss, tr, ldt, gdt, idt, cr0, cr2, value, cr4, cr8, efer, apicBase);
  }

  /** {@return a copy with the code and stack segments replaced, e.g. to change privilege level} */
  public SpecialRegisters withCodeAndStack(Segment code, Segment stack) {
    return new SpecialRegisters(
        code, ds, es, fs, gs, stack, tr, ldt, gdt, idt, cr0, cr2, cr3, cr4, cr8, efer, apicBase);
  }

  /** {@return a copy with the data segments DS, ES, FS, GS replaced by {@code data}} */
  public SpecialRegisters withDataSegments(Segment data) {
    return new SpecialRegisters(
        cs, data, data, data, data, ss, tr, ldt, gdt, idt, cr0, cr2, cr3, cr4, cr8, efer, apicBase);
  }
}
