package dev.glint.sandbox.internal.layout;

import dev.glint.hv.x86.Gdt;
import dev.glint.hv.x86.InterruptDescriptorTable;
import dev.glint.hv.x86.LongMode;
import dev.glint.hv.x86.PageAttribute;
import dev.glint.hv.x86.PageTableBuilder;
import dev.glint.hv.x86.PageTables;
import dev.glint.hv.x86.TaskStateSegment;
import dev.glint.sandbox.internal.image.GuestImage;
import dev.glint.sandbox.internal.image.LoadSegment;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.EnumSet;
import java.util.Set;

/**
 * Writes a fresh guest memory as ABI §1–§6 describe it: page tables with per-region rights, GDT,
 * TSS, IDT, fault stubs, the descriptor page and the image's segments. Stateless and thread-safe.
 */
public final class MemoryInitializer {
  private MemoryInitializer() {}

  /** The first port the guest may use from CPL 3 (READY). */
  public static final int FIRST_GUEST_PORT = 0x100;

  /** The number of ports the guest may use from CPL 3 (0x100..0x10F). */
  public static final int GUEST_PORT_COUNT = 0x10;

  /** The descriptor page magic, "GLNT" as little-endian bytes. */
  public static final int DESCRIPTOR_MAGIC = 0x544E_4C47;

  /** The ABI major version the host implements. */
  public static final int ABI_MAJOR = 1;

  /** The ABI minor version the host implements. */
  public static final int ABI_MINOR = 0;

  private static final Set<PageAttribute> SUPERVISOR_READ_ONLY = Set.of(PageAttribute.NO_EXECUTE);
  private static final Set<PageAttribute> SUPERVISOR_CODE = Set.of();
  private static final Set<PageAttribute> SUPERVISOR_DATA =
      Set.of(PageAttribute.WRITABLE, PageAttribute.NO_EXECUTE);
  private static final Set<PageAttribute> USER_READ_ONLY =
      Set.of(PageAttribute.USER, PageAttribute.NO_EXECUTE);
  private static final Set<PageAttribute> USER_DATA =
      Set.of(PageAttribute.USER, PageAttribute.WRITABLE, PageAttribute.NO_EXECUTE);

  private static final TaskStateSegment TASK_STATE =
      TaskStateSegment.builder()
          .rsp0(MemoryPlan.FAULT_STACK_TOP)
          .interruptStack(1, MemoryPlan.FAULT_STACK_TOP)
          .allowPortRange(FIRST_GUEST_PORT, GUEST_PORT_COUNT)
          .build();

  /**
   * Writes everything into {@code memory} (zeroed, at guest-physical 0) and returns the long-mode
   * register recipe.
   *
   * @param memory the guest memory, {@code plan.memorySize()} bytes
   * @param plan the layout
   * @param image the checked image
   * @param cpl the privilege level of the guest's functions, 0 or 3 (written to the descriptor)
   */
  public static LongMode initialize(
      MemorySegment memory, MemoryPlan plan, GuestImage image, int cpl) {
    PageTables tables =
        pageTables(plan, image)
            .write(
                memory,
                0,
                MemoryPlan.PAGE_TABLE_ADDRESS,
                MemoryPlan.IMAGE_BASE - MemoryPlan.PAGE_TABLE_ADDRESS);
    Gdt.write(memory, MemoryPlan.GDT_ADDRESS, MemoryPlan.TSS_ADDRESS, TASK_STATE.limit());
    TASK_STATE.write(memory, MemoryPlan.TSS_ADDRESS);
    InterruptDescriptorTable idt = new InterruptDescriptorTable(FaultStubs.VECTORS);
    for (int vector = 0; vector < FaultStubs.VECTORS; vector++) {
      idt.setInterruptGate(
          vector, MemoryPlan.FAULT_STUB_ADDRESS + (long) vector * FaultStubs.STUB_SIZE, 0, 1);
    }
    idt.write(memory, MemoryPlan.IDT_ADDRESS);
    byte[] stubs = FaultStubs.page();
    MemorySegment.copy(
        stubs, 0, memory, ValueLayout.JAVA_BYTE, MemoryPlan.FAULT_STUB_ADDRESS, stubs.length);
    writeDescriptor(memory, plan, cpl);
    image.copyInto(memory);
    return new LongMode(
        MemoryPlan.GDT_ADDRESS,
        idt.register(MemoryPlan.IDT_ADDRESS),
        MemoryPlan.TSS_ADDRESS,
        TASK_STATE.limit(),
        tables.cr3());
  }

  /** {@return the page tables of ABI §1: rights per region, page 0 and the guard page unmapped} */
  static PageTableBuilder pageTables(MemoryPlan plan, GuestImage image) {
    PageTableBuilder tables =
        new PageTableBuilder()
            .map(MemoryPlan.GDT_ADDRESS, 0x2000, SUPERVISOR_READ_ONLY) // GDT, TSS, IDT
            .map(MemoryPlan.FAULT_STUB_ADDRESS, 0x1000, SUPERVISOR_CODE)
            .map(MemoryPlan.DESCRIPTOR_ADDRESS, 0x1000, USER_READ_ONLY)
            .map(
                MemoryPlan.FAULT_STACK_ADDRESS,
                MemoryPlan.FAULT_STACK_TOP - MemoryPlan.FAULT_STACK_ADDRESS,
                SUPERVISOR_DATA)
            // The whole table area, so the tables' size need not be known before they are built.
            .map(
                MemoryPlan.PAGE_TABLE_ADDRESS,
                MemoryPlan.IMAGE_BASE - MemoryPlan.PAGE_TABLE_ADDRESS,
                SUPERVISOR_READ_ONLY);
    for (LoadSegment segment : image.segments()) {
      if (segment.memorySize() == 0) {
        continue;
      }
      Set<PageAttribute> rights = EnumSet.of(PageAttribute.USER);
      if (segment.writable()) {
        rights.add(PageAttribute.WRITABLE);
      }
      if (!segment.executable()) {
        rights.add(PageAttribute.NO_EXECUTE);
      }
      tables.map(segment.pageStart(), segment.pageEnd() - segment.pageStart(), rights);
    }
    return tables
        .map(plan.heapAddress(), plan.heapSize(), USER_DATA)
        .map(plan.inputAddress(), plan.inputSize(), USER_READ_ONLY)
        .map(plan.outputAddress(), plan.outputSize(), USER_DATA)
        .map(plan.stackAddress(), plan.stackSize(), USER_DATA);
  }

  private static void writeDescriptor(MemorySegment memory, MemoryPlan plan, int cpl) {
    MemorySegment d = memory.asSlice(MemoryPlan.DESCRIPTOR_ADDRESS, MemoryPlan.PAGE);
    d.set(ValueLayout.JAVA_INT_UNALIGNED, 0x00, DESCRIPTOR_MAGIC);
    d.set(ValueLayout.JAVA_SHORT_UNALIGNED, 0x04, (short) ABI_MAJOR);
    d.set(ValueLayout.JAVA_SHORT_UNALIGNED, 0x06, (short) ABI_MINOR);
    d.set(ValueLayout.JAVA_LONG_UNALIGNED, 0x08, plan.memorySize());
    d.set(ValueLayout.JAVA_LONG_UNALIGNED, 0x10, plan.inputAddress());
    d.set(ValueLayout.JAVA_LONG_UNALIGNED, 0x18, plan.inputSize());
    d.set(ValueLayout.JAVA_LONG_UNALIGNED, 0x20, plan.outputAddress());
    d.set(ValueLayout.JAVA_LONG_UNALIGNED, 0x28, plan.outputSize());
    d.set(ValueLayout.JAVA_LONG_UNALIGNED, 0x30, plan.heapAddress());
    d.set(ValueLayout.JAVA_LONG_UNALIGNED, 0x38, plan.heapSize());
    d.set(ValueLayout.JAVA_LONG_UNALIGNED, 0x40, plan.stackTop());
    d.set(ValueLayout.JAVA_LONG_UNALIGNED, 0x48, plan.stackSize());
    d.set(ValueLayout.JAVA_INT_UNALIGNED, 0x50, cpl);
    d.set(ValueLayout.JAVA_INT_UNALIGNED, 0x54, 0);
  }
}
