package dev.glint.hv.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.glint.hv.DescriptorTable;
import dev.glint.hv.GuestMemory;
import dev.glint.hv.Hypervisor;
import dev.glint.hv.MemoryFlag;
import dev.glint.hv.MemoryMapping;
import dev.glint.hv.Partition;
import dev.glint.hv.PartitionConfig;
import dev.glint.hv.Registers;
import dev.glint.hv.SpecialRegisters;
import dev.glint.hv.Vcpu;
import dev.glint.hv.VcpuExit;
import dev.glint.hv.x86.InterruptDescriptorTable;
import dev.glint.hv.x86.LongMode;
import dev.glint.hv.x86.PageAttribute;
import dev.glint.hv.x86.PageTableBuilder;
import dev.glint.hv.x86.RealMode;
import dev.glint.hv.x86.TaskStateSegment;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * One partition with one vCPU and the suite's standard guest memory, built with the {@code
 * dev.glint.hv.x86} helpers: the fixture every test uses. Not thread-safe.
 *
 * <p>Long-mode layout (guest-physical = linear, one read/write/execute mapping of {@link #RAM_SIZE}
 * bytes at 0):
 *
 * <pre>
 *   0x00000  page 0                      not mapped in the page tables (a null access faults)
 *   0x01000  page tables                 8 pages reserved, all used: PML4, PDPT, 4 PDs, 2 PTs
 *   0x09000  GDT
 *   0x0A000  IDT, 32 gates to the fault stubs
 *   0x0B000  TSS, RSP0 = KERNEL_STACK_TOP, some ports allowed to CPL 3 (USER_PORT_RANGES)
 *   0x0C000  fault stubs and the common fault handler (supervisor, read-only, executable)
 *   0x0D000  kernel stack page (supervisor)
 *   0x0E000  supervisor data page
 *   0x10000  kernel code, 2 pages (supervisor, read-only, executable)
 *   0x20000  user code page (user, read-only, executable)
 *   0x21000  user read-only data page
 *   0x22000  user data, 14 pages (user, writable, no-execute)
 *   0x30000  user stack, 2 pages (user, writable, no-execute)
 *   0x40000000  EXTRA_REGION (user, writable): one 2 MiB page in the page tables, so the CPU's
 *               large-page walk is exercised; tests back its first 16 pages when they need memory
 *   0xD0000000  MMIO page (user, writable): in the page tables, never backed
 *   0x100000000 HIGH_REGION (user, writable): one 2 MiB page above 4 GiB, backed when a test
 *               maps memory there
 * </pre>
 */
final class TestGuest implements AutoCloseable {

  static final long RAM_SIZE = 0x40000;
  static final long PAGE_TABLES = 0x1000;
  static final long PAGE_TABLE_AREA = 0x8000;
  static final long GDT = 0x9000;
  static final long IDT = 0xA000;
  static final long TSS = 0xB000;
  static final long FAULT_HANDLERS = 0xC000;
  static final long KERNEL_STACK = 0xD000;
  static final long KERNEL_STACK_TOP = 0xE000;

  /** The supervisor-only data page, just above the kernel stack. */
  static final long SUPERVISOR_DATA = 0xE000;

  static final long KERNEL_CODE = 0x10000;
  static final long USER_CODE = 0x20000;
  static final long USER_READ_ONLY = 0x21000;
  static final long USER_DATA = 0x22000;
  static final long USER_STACK_TOP = 0x32000;
  static final long EXTRA_REGION = 0x4000_0000L;
  static final long EXTRA_REGION_SIZE = 0x10000;

  /** The span of {@link #EXTRA_REGION} in the page tables: one aligned 2 MiB page. */
  static final long EXTRA_REGION_SPAN = PageTableBuilder.LARGE_PAGE_SIZE;

  static final long MMIO = 0xD000_0000L;

  /**
   * A region above 4 GiB, one 2 MiB page in the page tables; tests back its first 16 pages when
   * they need memory.
   */
  static final long HIGH_REGION = 0x1_0000_0000L;

  /**
   * The ports CPL-3 code may use, as (first, count) pairs: 0x10-0x1F, 0x40-0x5F, 0x3F8-0x3FF, so
   * the port I/O programs run at both levels; 0x80 stays denied.
   */
  static final int[][] USER_PORT_RANGES = {{0x10, 0x10}, {0x40, 0x20}, {0x3F8, 8}};

  static final int FAULT_VECTORS = 32;
  private static final long FAULT_COMMON =
      FAULT_HANDLERS + FAULT_VECTORS * GuestPrograms.FAULT_STUB_SIZE;

  private static final TaskStateSegment TASK_STATE = taskState();

  final Hypervisor hypervisor;
  final GuestMemory ram;
  final Partition partition;
  final MemoryMapping ramMapping;
  final Vcpu vcpu;
  private final LongMode longMode;

  private TestGuest(Hypervisor hypervisor, long ramSize, Set<MemoryFlag> ramFlags, String label) {
    this.hypervisor = hypervisor;
    GuestMemory memory = hypervisor.allocateMemory(ramSize);
    Partition created = null;
    try {
      created = hypervisor.createPartition(new PartitionConfig(label));
      this.ramMapping = created.map(0, memory.segment(), ramFlags);
      this.vcpu = created.createVcpu();
    } catch (RuntimeException | Error e) {
      if (created != null) {
        created.close();
      }
      memory.close();
      throw e;
    }
    this.ram = memory;
    this.partition = created;
    this.longMode =
        new LongMode(
            GDT,
            new InterruptDescriptorTable(FAULT_VECTORS).register(IDT),
            TSS,
            TASK_STATE.limit(),
            PAGE_TABLES);
  }

  /** {@return a guest with the long-mode layout written into its RAM, vCPU not yet started} */
  static TestGuest longMode(Hypervisor hypervisor, String label) {
    TestGuest guest = new TestGuest(hypervisor, RAM_SIZE, MemoryFlag.READ_WRITE_EXECUTE, label);
    guest.writeLongModeLayout();
    return guest;
  }

  /** {@return a guest with 64 KiB of RAM at 0 for real-mode code, vCPU not yet started} */
  static TestGuest realMode(Hypervisor hypervisor, String label) {
    return new TestGuest(hypervisor, 0x10000, MemoryFlag.READ_WRITE_EXECUTE, label);
  }

  private static TaskStateSegment taskState() {
    TaskStateSegment.Builder builder = TaskStateSegment.builder().rsp0(KERNEL_STACK_TOP);
    for (int[] range : USER_PORT_RANGES) {
      builder.allowPortRange(range[0], range[1]);
    }
    return builder.build();
  }

  private static PageTableBuilder pageTableLayout() {
    Set<PageAttribute> supervisorCode = Set.of();
    Set<PageAttribute> supervisorData = Set.of(PageAttribute.WRITABLE, PageAttribute.NO_EXECUTE);
    Set<PageAttribute> userData =
        Set.of(PageAttribute.USER, PageAttribute.WRITABLE, PageAttribute.NO_EXECUTE);
    return new PageTableBuilder()
        .map(PAGE_TABLES, FAULT_HANDLERS - PAGE_TABLES, supervisorData) // tables, GDT, IDT, TSS
        .map(FAULT_HANDLERS, 0x1000, supervisorCode)
        .map(KERNEL_STACK, 0x2000, supervisorData) // stack and supervisor data page
        .map(KERNEL_CODE, 0x2000, supervisorCode)
        .map(USER_CODE, 0x1000, Set.of(PageAttribute.USER))
        .map(USER_READ_ONLY, 0x1000, Set.of(PageAttribute.USER, PageAttribute.NO_EXECUTE))
        .map(USER_DATA, USER_STACK_TOP - USER_DATA, userData) // data and stack
        .map(EXTRA_REGION, EXTRA_REGION_SPAN, userData)
        .map(MMIO, 0x1000, userData)
        .map(HIGH_REGION, PageTableBuilder.LARGE_PAGE_SIZE, userData);
  }

  private void writeLongModeLayout() {
    MemorySegment memory = ram.segment();
    // A builder per guest: builders are not thread-safe, and guests are built on many threads.
    pageTableLayout().write(memory, 0, PAGE_TABLES, PAGE_TABLE_AREA);
    dev.glint.hv.x86.Gdt.write(memory, GDT, TSS, TASK_STATE.limit());
    TASK_STATE.write(memory, TSS);
    InterruptDescriptorTable idt = new InterruptDescriptorTable(FAULT_VECTORS);
    for (int vector = 0; vector < FAULT_VECTORS; vector++) {
      long stub = FAULT_HANDLERS + (long) vector * GuestPrograms.FAULT_STUB_SIZE;
      write(stub, GuestPrograms.faultStub(vector, stub, FAULT_COMMON));
      idt.setInterruptGate(vector, stub, 0, 0);
    }
    write(FAULT_COMMON, GuestPrograms.FAULT_COMMON);
    idt.write(memory, IDT);
  }

  /** {@return the long-mode special registers at CPL 0} */
  SpecialRegisters kernelMode() {
    return longMode.kernelMode();
  }

  /** {@return the long-mode special registers at CPL 3} */
  SpecialRegisters userMode() {
    return longMode.userMode();
  }

  /** {@return CPL-0 long-mode registers whose IDT has limit 0: every exception triple-faults} */
  SpecialRegisters kernelModeWithoutIdt() {
    return new LongMode(GDT, new DescriptorTable(IDT, 0), TSS, TASK_STATE.limit(), PAGE_TABLES)
        .kernelMode();
  }

  /** Copies {@code bytes} into RAM at guest-physical {@code address}. */
  void write(long address, byte[] bytes) {
    MemorySegment.copy(bytes, 0, ram.segment(), ValueLayout.JAVA_BYTE, address, bytes.length);
  }

  long readLong(long address) {
    return ram.segment().get(ValueLayout.JAVA_LONG_UNALIGNED, address);
  }

  int readInt(long address) {
    return ram.segment().get(ValueLayout.JAVA_INT_UNALIGNED, address);
  }

  /**
   * Loads {@code code} at {@link #KERNEL_CODE} and points the vCPU at it, at CPL 0 with the kernel
   * stack, after {@code registers} adjusts the general registers.
   */
  void startKernel(byte[] code, UnaryOperator<Registers> registers) {
    write(KERNEL_CODE, code);
    vcpu.setSpecialRegisters(kernelMode());
    vcpu.setRegisters(
        registers.apply(Registers.initial().withRip(KERNEL_CODE).withRsp(KERNEL_STACK_TOP)));
  }

  /** As {@link #startKernel} at {@link #USER_CODE}, CPL 3, with the user stack. */
  void startUser(byte[] code, UnaryOperator<Registers> registers) {
    write(USER_CODE, code);
    vcpu.setSpecialRegisters(userMode());
    vcpu.setRegisters(
        registers.apply(Registers.initial().withRip(USER_CODE).withRsp(USER_STACK_TOP)));
  }

  /** {@return where {@link #start} loads code for {@code privilege}} */
  long codeAddress(Privilege privilege) {
    return privilege == Privilege.KERNEL ? KERNEL_CODE : USER_CODE;
  }

  /** Starts {@code code} at CPL 0 or CPL 3. */
  void start(Privilege privilege, byte[] code, UnaryOperator<Registers> registers) {
    switch (privilege) {
      case KERNEL -> startKernel(code, registers);
      case USER -> startUser(code, registers);
    }
  }

  /** {@return the next exit, which must be of type {@code type}} */
  <T extends VcpuExit> T run(Class<T> type) {
    VcpuExit exit = vcpu.run();
    if (!type.isInstance(exit)) {
      fail(
          "expected a %s exit, got %s%s"
              .formatted(type.getSimpleName(), describe(exit), diagnose(exit)));
    }
    return type.cast(exit);
  }

  /** Runs and checks that the guest wrote {@code data} ({@code size} bytes) to {@code port}. */
  void runExpectingOut(int port, int size, long data) {
    runExpecting(new VcpuExit.IoOut(port, size, data));
  }

  /** Runs and checks that the exit equals {@code expected}; a mismatch is shown in hex. */
  void runExpecting(VcpuExit expected) {
    VcpuExit actual = run(expected.getClass());
    if (!expected.equals(actual)) {
      fail("expected exit %s, got %s".formatted(describe(expected), describe(actual)));
    }
  }

  /** {@return the exit with ports, addresses and data in hex} */
  static String describe(VcpuExit exit) {
    return switch (exit) {
      case VcpuExit.IoOut(int port, int size, long data) ->
          "IoOut(port 0x%x, size %d, data 0x%x)".formatted(port, size, data);
      case VcpuExit.IoIn(int port, int size) -> "IoIn(port 0x%x, size %d)".formatted(port, size);
      case VcpuExit.MmioRead(long address, int size) ->
          "MmioRead(address 0x%x, size %d)".formatted(address, size);
      case VcpuExit.MmioWrite(long address, int size, long data) ->
          "MmioWrite(address 0x%x, size %d, data 0x%x)".formatted(address, size, data);
      default -> exit.toString();
    };
  }

  /**
   * Runs until the program says it is done with {@code out} to {@link GuestPrograms#DONE_PORT},
   * failing on any other exit.
   */
  void runToDone() {
    VcpuExit exit = vcpu.run();
    if (!(exit instanceof VcpuExit.IoOut(int port, int size, long data))
        || port != GuestPrograms.DONE_PORT) {
      fail(
          "expected the guest to say done on port 0x%x, got %s%s"
              .formatted(GuestPrograms.DONE_PORT, describe(exit), diagnose(exit)));
    }
  }

  /** Runs to the fault handler's report and returns the frame it saw. */
  Fault runExpectingFault() {
    VcpuExit exit = vcpu.run();
    if (!(exit instanceof VcpuExit.IoOut(int port, int size, long vector))
        || port != GuestPrograms.FAULT_PORT) {
      fail(
          "expected the guest's fault handler to report on port 0x%x, got %s%s"
              .formatted(GuestPrograms.FAULT_PORT, describe(exit), diagnose(exit)));
      throw new AssertionError("unreachable");
    }
    assertEquals(4, size, "fault report size");
    Registers r = vcpu.registers();
    return new Fault((int) vector, r.rsi(), r.rbx(), r.rcx(), r.r8(), r.r9(), r.rdx());
  }

  /** Says where the guest stopped, to make a failed expectation readable. */
  private String diagnose(VcpuExit exit) {
    if (exit instanceof VcpuExit.IoOut(int port, int size, long vector)
        && port == GuestPrograms.FAULT_PORT) {
      Registers r = vcpu.registers();
      return " (the guest faulted: %s)"
          .formatted(new Fault((int) vector, r.rsi(), r.rbx(), r.rcx(), r.r8(), r.r9(), r.rdx()));
    }
    try {
      return " (RIP 0x%x)".formatted(vcpu.registers().rip());
    } catch (RuntimeException e) {
      return "";
    }
  }

  /** Starts the vCPU in real mode at {@code codeSegment}:0 after loading {@code code} there. */
  void startRealMode(int codeSegment, byte[] code, UnaryOperator<Registers> registers) {
    write((long) codeSegment << 4, code);
    SpecialRegisters sregs = RealMode.specialRegisters(codeSegment);
    vcpu.setSpecialRegisters(sregs);
    vcpu.setRegisters(registers.apply(Registers.initial()));
  }

  /** {@return ordinary RAM flags plus dirty tracking} */
  static Set<MemoryFlag> trackedFlags() {
    return Set.of(MemoryFlag.READ, MemoryFlag.WRITE, MemoryFlag.EXECUTE, MemoryFlag.TRACK_DIRTY);
  }

  @Override
  public void close() {
    try {
      partition.close();
    } finally {
      ram.close();
    }
  }

  /** The privilege level a test program runs at. */
  enum Privilege {
    /** CPL 0, with the kernel segments and stack. */
    KERNEL,
    /** CPL 3, entered directly by the host (needs USER_MODE_ENTRY). */
    USER
  }

  /**
   * The interrupt frame the CPL-0 fault handler reported.
   *
   * @param vector the exception vector
   * @param errorCode the error code, 0 for vectors without one
   * @param rip the RIP pushed: the faulting instruction
   * @param cs the CS pushed: the faulting code's selector
   * @param rsp the RSP pushed
   * @param ss the SS pushed
   * @param cr2 CR2 when the handler ran (the fault address after a #PF)
   */
  record Fault(int vector, long errorCode, long rip, long cs, long rsp, long ss, long cr2) {
    @Override
    public String toString() {
      return "vector %d, error code 0x%x, RIP 0x%x, CS 0x%x, RSP 0x%x, SS 0x%x, CR2 0x%x"
          .formatted(vector, errorCode, rip, cs, rsp, ss, cr2);
    }
  }
}
