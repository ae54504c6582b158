package dev.glint.benchmarks;

import dev.glint.hv.DescriptorTable;
import dev.glint.hv.GuestMemory;
import dev.glint.hv.Hypervisor;
import dev.glint.hv.HypervisorException;
import dev.glint.hv.MemoryFlag;
import dev.glint.hv.Partition;
import dev.glint.hv.PartitionConfig;
import dev.glint.hv.Registers;
import dev.glint.hv.Vcpu;
import dev.glint.hv.VcpuExit;
import dev.glint.hv.x86.Gdt;
import dev.glint.hv.x86.LongMode;
import dev.glint.hv.x86.PageAttribute;
import dev.glint.hv.x86.PageTableBuilder;
import dev.glint.hv.x86.PageTables;
import dev.glint.hv.x86.TaskStateSegment;
import java.lang.foreign.MemorySegment;
import java.util.Set;

/**
 * The {@code out}-exit round trip: a 64-bit guest looping on {@code out 0x10, al} at CPL 0 or CPL
 * 3, each {@link Vcpu#run()} timed on its own. The same layout as {@code kvm_floor.c}: 8 MiB, the
 * first 2 MiB identity-mapped user-accessible, GDT at 0x4000, TSS at 0x5000 allowing port 0x10,
 * code at 0x10000.
 */
final class ExitLoop {
  private static final long GUEST_BYTES = 8L << 20;
  private static final long TABLES = 0x1000;
  private static final long GDT = 0x4000;
  private static final long TSS = 0x5000;
  private static final long CODE = 0x10000;
  private static final long STACK_TOP = 0x20000;
  private static final int EXIT_PORT = 0x10;

  /** {@code loop: out 0x10, al (E6 10); jmp loop (EB FC)}. */
  private static final byte[] OUT_LOOP = {(byte) 0xE6, EXIT_PORT, (byte) 0xEB, (byte) 0xFC};

  private ExitLoop() {}

  /** Runs {@code count} exits after a tenth as many for warm-up; returns the timed ones. */
  static Samples measure(Hypervisor hv, int cpl, int count) {
    try (GuestMemory ram = hv.allocateMemory(GUEST_BYTES);
        Partition partition = hv.createPartition(new PartitionConfig("exit-loop"))) {
      MemorySegment memory = ram.segment();
      PageTables tables =
          new PageTableBuilder()
              .map(0, 2L << 20, Set.of(PageAttribute.WRITABLE, PageAttribute.USER))
              .write(memory, 0, TABLES, GDT - TABLES);
      TaskStateSegment tss =
          TaskStateSegment.builder().rsp0(STACK_TOP).allowPorts(EXIT_PORT).build();
      tss.write(memory, TSS);
      Gdt.write(memory, GDT, TSS, tss.limit());
      MemorySegment.copy(OUT_LOOP, 0, memory, java.lang.foreign.ValueLayout.JAVA_BYTE, CODE, 4);
      partition.map(0, memory, MemoryFlag.READ_WRITE_EXECUTE);

      Vcpu vcpu = partition.createVcpu();
      LongMode mode = new LongMode(GDT, new DescriptorTable(0, 0), TSS, tss.limit(), tables.cr3());
      vcpu.setSpecialRegisters(cpl == 3 ? mode.userMode() : mode.kernelMode());
      vcpu.setRegisters(Registers.initial().withRip(CODE).withRsp(STACK_TOP));

      int warmup = count / 10;
      long[] nanos = new long[count];
      for (int i = 0; i < count + warmup; i++) {
        long start = System.nanoTime();
        VcpuExit exit = vcpu.run();
        long end = System.nanoTime();
        if (!(exit instanceof VcpuExit.IoOut(int port, int size, long data)) || port != EXIT_PORT) {
          throw new HypervisorException(
              hv.name(), "benchmark", 0, "", "expected out to port 0x10, got " + exit, null);
        }
        if (i >= warmup) {
          nanos[i - warmup] = end - start;
        }
      }
      return new Samples(cpl == 3 ? "exit_cpl3" : "exit_cpl0", nanos);
    }
  }
}
