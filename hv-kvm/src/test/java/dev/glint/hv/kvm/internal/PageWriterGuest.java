package dev.glint.hv.kvm.internal;

import dev.glint.hv.GuestMemory;
import dev.glint.hv.Hypervisor;
import dev.glint.hv.MemoryFlag;
import dev.glint.hv.MemoryMapping;
import dev.glint.hv.Partition;
import dev.glint.hv.PartitionConfig;
import dev.glint.hv.Register;
import dev.glint.hv.Registers;
import dev.glint.hv.Vcpu;
import dev.glint.hv.VcpuExit;
import dev.glint.hv.x86.Gdt;
import dev.glint.hv.x86.InterruptDescriptorTable;
import dev.glint.hv.x86.LongMode;
import dev.glint.hv.x86.PageAttribute;
import dev.glint.hv.x86.PageTableBuilder;
import dev.glint.hv.x86.PageTables;
import dev.glint.hv.x86.TaskStateSegment;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;

/**
 * A long-mode guest whose one program writes a byte to each of {@code count} pages, {@code stride}
 * bytes apart, then says done on port {@value #DONE_PORT}, at CPL 0 or CPL 3 as each run asks (on
 * PVM, CPL-0 code is emulated and CPL-3 code runs natively, which KVM logs differently): the
 * workload of the dirty-tracking tests and of {@link DirtyPagesTiming}. Its own RAM (tables, code,
 * stack) is an untracked mapping at 0, so only the pages the program writes are ever dirty; tracked
 * regions are mapped by the caller inside {@link #WINDOW}, which the page tables map writable with
 * 2 MiB pages. Every page the program uses is a user page, so both levels can run it ({@link
 * LongMode#CR4} has no SMEP or SMAP). Not thread-safe.
 */
final class PageWriterGuest implements AutoCloseable {
  static final long RAM_SIZE = 0x20000;
  static final long PAGE_TABLES = 0x1000;
  static final long PAGE_TABLE_AREA = 0x8000;
  static final long GDT = 0x9000;
  static final long IDT = 0xA000;
  static final long TSS = 0xB000;
  static final long CODE = 0x10000;
  static final long STACK_TOP = 0x12000;

  /** A supervisor code page, for the {@code ud2} handler of {@link #TRAP_PROGRAM}. */
  static final long KERNEL_CODE = 0x12000;

  /** The top of the supervisor stack page the CPU switches to on a trap from CPL 3 (TSS RSP0). */
  static final long KERNEL_STACK_TOP = 0x14000;

  /** Where tracked regions go: 1 GiB, mapped for {@link #WINDOW_SIZE} bytes. */
  static final long WINDOW = 0x4000_0000L;

  static final long WINDOW_SIZE = 512L << 20;

  static final int DONE_PORT = 0x1F;

  /**
   * {@code mov byte [rbx], 1; add rbx, rdx; dec rcx; jnz loop; out 0x1f, al; hlt}: RCX pages from
   * RBX, RDX apart (GNU as, checked with objdump).
   */
  static final byte[] WRITE_PAGES =
      HexFormat.ofDelimiter(" ")
          .parseHex(
              String.join(
                  " ",
                  "c6 03 01", // 1: mov byte [rbx], 1
                  "48 01 d3", //    add rbx, rdx
                  "48 ff c9", //    dec rcx
                  "75 f5", //       jnz 1b
                  "e6 1f", //       out 0x1f, al   ; DONE_PORT
                  "f4")); //        hlt

  private static final int UD_VECTOR = 6;

  /** Where {@link #TRAP_PROGRAM} goes, on the code page. */
  static final long TRAP_CODE = CODE + 0x100;

  /**
   * At CPL 3: writes pages 1-15 of the region at R8, traps ({@code ud2}) into a CPL-0 handler that
   * writes the byte at R10 R9 times and returns ({@code iretq}), says done; then writes pages 1-15
   * again and says done. So CPL-3 writes, CPL-0 writes and CPL-3 writes again follow each other
   * without the host setting any register in between (GNU as, checked with objdump).
   */
  static final byte[] TRAP_PROGRAM =
      HexFormat.ofDelimiter(" ")
          .parseHex(
              String.join(
                  " ",
                  "4c 89 c3", //             mov rbx, r8
                  "48 c7 c1 0f 00 00 00", // mov rcx, 15
                  "c6 03 01", //             1: mov byte [rbx], 1
                  "48 81 c3 00 10 00 00", // add rbx, 0x1000
                  "48 ff c9", //             dec rcx
                  "75 f1", //                jnz 1b
                  "0f 0b", //                ud2            ; into the handler
                  "e6 1f", //                out 0x1f, al   ; DONE_PORT
                  "4c 89 c3", //             mov rbx, r8
                  "48 c7 c1 0f 00 00 00", // mov rcx, 15
                  "c6 03 01", //             2: mov byte [rbx], 1
                  "48 81 c3 00 10 00 00", // add rbx, 0x1000
                  "48 ff c9", //             dec rcx
                  "75 f1", //                jnz 2b
                  "e6 1f", //                out 0x1f, al
                  "f4")); //                 hlt

  /** The {@code ud2} handler of {@link #TRAP_PROGRAM}, at {@link #KERNEL_CODE}. */
  static final byte[] TRAP_HANDLER =
      HexFormat.ofDelimiter(" ")
          .parseHex(
              String.join(
                  " ",
                  "48 83 04 24 02", // add qword [rsp], 2   ; return past the ud2
                  "4c 89 d3", //  mov rbx, r10
                  "4c 89 c9", //  mov rcx, r9
                  "c6 03 01", //  3: mov byte [rbx], 1
                  "48 ff c9", //  dec rcx
                  "75 f8", //     jnz 3b
                  "48 cf")); //   iretq

  final Partition partition;
  final Vcpu vcpu;
  private final Hypervisor hypervisor;
  private final GuestMemory ram;
  private final LongMode longMode;
  private final List<GuestMemory> regions = new ArrayList<>();

  PageWriterGuest(Hypervisor hypervisor, String label) {
    this.hypervisor = hypervisor;
    ram = hypervisor.allocateMemory(RAM_SIZE);
    Partition created = null;
    try {
      created = hypervisor.createPartition(new PartitionConfig(label));
      created.map(0, ram.segment(), MemoryFlag.READ_WRITE_EXECUTE);
      MemorySegment memory = ram.segment();
      Set<PageAttribute> data =
          Set.of(PageAttribute.USER, PageAttribute.WRITABLE, PageAttribute.NO_EXECUTE);
      PageTables tables =
          new PageTableBuilder()
              .map(PAGE_TABLES, CODE - PAGE_TABLES, Set.of(PageAttribute.WRITABLE))
              .map(CODE, 0x1000, Set.of(PageAttribute.USER))
              .map(CODE + 0x1000, STACK_TOP - CODE - 0x1000, data)
              .map(KERNEL_CODE, 0x1000, Set.of())
              .map(
                  KERNEL_CODE + 0x1000,
                  0x1000,
                  Set.of(PageAttribute.WRITABLE, PageAttribute.NO_EXECUTE))
              .map(WINDOW, WINDOW_SIZE, data)
              .write(memory, 0, PAGE_TABLES, PAGE_TABLE_AREA);
      TaskStateSegment tss =
          TaskStateSegment.builder().rsp0(KERNEL_STACK_TOP).allowPortRange(DONE_PORT, 1).build();
      Gdt.write(memory, GDT, TSS, tss.limit());
      tss.write(memory, TSS);
      MemorySegment.copy(WRITE_PAGES, 0, memory, ValueLayout.JAVA_BYTE, CODE, WRITE_PAGES.length);
      MemorySegment.copy(
          TRAP_PROGRAM, 0, memory, ValueLayout.JAVA_BYTE, TRAP_CODE, TRAP_PROGRAM.length);
      MemorySegment.copy(
          TRAP_HANDLER, 0, memory, ValueLayout.JAVA_BYTE, KERNEL_CODE, TRAP_HANDLER.length);
      // Only #UD has a gate: TRAP_PROGRAM's way into CPL 0 (on PVM an int 0x80 through a DPL-3
      // gate triple-faulted); any other fault triple-faults, which the run methods report.
      InterruptDescriptorTable idt =
          new InterruptDescriptorTable(UD_VECTOR + 1)
              .setInterruptGate(UD_VECTOR, KERNEL_CODE, 0, 0);
      idt.write(memory, IDT);
      longMode = new LongMode(GDT, idt.register(IDT), TSS, tss.limit(), tables.cr3());
      vcpu = created.createVcpu();
    } catch (RuntimeException | Error e) {
      if (created != null) {
        created.close();
      }
      ram.close();
      throw e;
    }
    partition = created;
  }

  /** Maps {@code bytes} of fresh memory at {@code WINDOW + offset} with dirty tracking. */
  MemoryMapping mapTracked(long offset, long bytes) {
    GuestMemory memory = hypervisor.allocateMemory(bytes);
    regions.add(memory);
    return partition.map(
        WINDOW + offset,
        memory.segment(),
        Set.of(MemoryFlag.READ, MemoryFlag.WRITE, MemoryFlag.EXECUTE, MemoryFlag.TRACK_DIRTY));
  }

  /**
   * Runs the program at CPL 0 over {@code count} pages from {@code address}, {@code stride} apart.
   */
  void writePages(long address, long count, long stride) {
    writePages(false, address, count, stride);
  }

  /**
   * Runs the program over {@code count} pages from {@code address}, {@code stride} apart.
   *
   * @param user whether it runs at CPL 3 rather than CPL 0
   */
  void writePages(boolean user, long address, long count, long stride) {
    vcpu.setSpecialRegisters(user ? longMode.userMode() : longMode.kernelMode());
    vcpu.setRegisters(
        Registers.initial()
            .withRip(CODE)
            .withRsp(STACK_TOP)
            .with(Register.RBX, address)
            .with(Register.RCX, count)
            .with(Register.RDX, stride));
    runToDone();
  }

  /**
   * Starts {@link #TRAP_PROGRAM} at CPL 3; each {@link #runToDone()} then runs one of its parts.
   *
   * @param region the tracked region whose pages 1-15 it writes at CPL 3
   * @param hammered the byte its CPL-0 handler writes {@code times} times
   */
  void startTrapProgram(long region, long hammered, long times) {
    vcpu.setSpecialRegisters(longMode.userMode());
    vcpu.setRegisters(
        Registers.initial()
            .withRip(TRAP_CODE)
            .withRsp(STACK_TOP)
            .with(Register.R8, region + 0x1000)
            .with(Register.R9, times)
            .with(Register.R10, hammered));
  }

  /** Runs until the program says done. */
  void runToDone() {
    VcpuExit exit = vcpu.run();
    if (!(exit instanceof VcpuExit.IoOut(int port, int size, long data)) || port != DONE_PORT) {
      throw new AssertionError(
          "expected the guest to say done, got %s at RIP 0x%x"
              .formatted(exit, vcpu.registers().rip()));
    }
  }

  @Override
  public void close() {
    try {
      partition.close();
    } finally {
      ram.close();
      regions.forEach(GuestMemory::close);
    }
  }
}
