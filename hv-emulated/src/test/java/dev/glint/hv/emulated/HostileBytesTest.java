package dev.glint.hv.emulated;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.glint.hv.GuestMemory;
import dev.glint.hv.Hypervisor;
import dev.glint.hv.MemoryFlag;
import dev.glint.hv.Partition;
import dev.glint.hv.PartitionConfig;
import dev.glint.hv.Registers;
import dev.glint.hv.Vcpu;
import dev.glint.hv.VcpuExit;
import dev.glint.hv.spi.Hypervisors;
import dev.glint.hv.x86.Gdt;
import dev.glint.hv.x86.InterruptDescriptorTable;
import dev.glint.hv.x86.LongMode;
import dev.glint.hv.x86.PageAttribute;
import dev.glint.hv.x86.PageTableBuilder;
import dev.glint.hv.x86.TaskStateSegment;
import java.lang.foreign.MemorySegment;
import java.util.HexFormat;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Seeded random byte programs, at CPL 0 and CPL 3, in a long-mode guest whose every exception
 * handler halts: each program must end in an exit (a fault reported by the handler's halt, a port
 * or MMIO exit, a shutdown, a cancel after a bounded time) and never in a Java exception or a hang.
 * The code page is writable, so programs also modify themselves; general registers point into
 * mapped data, so memory operands often hit memory.
 */
class HostileBytesTest {
  private static final long TABLES = 0x1000;
  private static final long GDT = 0x9000;
  private static final long IDT = 0xA000;
  private static final long TSS = 0xB000;
  private static final long HANDLER = 0xC000;
  private static final long STACK_TOP = 0xE000;
  private static final long CODE = 0x10000;
  private static final long DATA = 0x20000;
  private static final long USER_STACK_TOP = 0x30000;
  private static final long MMIO = 0x4000_0000L;
  private static final int PROGRAM_BYTES = 64;
  private static final long CANCEL_AFTER_MS = 25;
  private static final int MAX_EXITS = 32;

  private static final TaskStateSegment TASK_STATE =
      TaskStateSegment.builder().rsp0(STACK_TOP).allowPortRange(0x10, 0x10).build();

  private static Hypervisor hypervisor;
  private static ScheduledExecutorService canceller;

  @BeforeAll
  static void open() {
    hypervisor = Hypervisors.provider("emulated").orElseThrow().open();
    canceller = Executors.newSingleThreadScheduledExecutor();
  }

  @AfterAll
  static void close() {
    canceller.shutdownNow();
    hypervisor.close();
  }

  private static void writeLayout(MemorySegment memory) {
    Set<PageAttribute> user = Set.of(PageAttribute.USER, PageAttribute.WRITABLE);
    new PageTableBuilder()
        .map(TABLES, HANDLER - TABLES, Set.of(PageAttribute.WRITABLE, PageAttribute.NO_EXECUTE))
        .map(HANDLER, 0x1000, Set.of())
        .map(0xD000, 0x1000, Set.of(PageAttribute.WRITABLE, PageAttribute.NO_EXECUTE))
        .map(CODE, 0x1000, user)
        .map(
            DATA,
            USER_STACK_TOP - DATA,
            Set.of(PageAttribute.USER, PageAttribute.WRITABLE, PageAttribute.NO_EXECUTE))
        .map(MMIO, 0x1000, user)
        .write(memory, 0, TABLES, 0x8000);
    Gdt.write(memory, GDT, TSS, TASK_STATE.limit());
    TASK_STATE.write(memory, TSS);
    InterruptDescriptorTable idt = new InterruptDescriptorTable(32);
    for (int v = 0; v < 32; v++) {
      idt.setInterruptGate(v, HANDLER, 0, 0);
    }
    idt.write(memory, IDT);
    memory.set(java.lang.foreign.ValueLayout.JAVA_BYTE, HANDLER, (byte) 0xF4); // hlt
  }

  @ParameterizedTest(name = "seed {0}, CPL {1}")
  @CsvSource({"1, 0", "2, 3", "3, 0", "4, 3"})
  void randomProgramsEndInAnExitOrAFault(long seed, int cpl) throws Exception {
    Random random = new Random(seed);
    Map<String, Integer> outcomes = new java.util.TreeMap<>();
    int programs = 1000;
    try (GuestMemory memory = hypervisor.allocateMemory(0x40000)) {
      for (int p = 0; p < programs; p++) {
        memory.segment().fill((byte) 0);
        writeLayout(memory.segment());
        byte[] program = new byte[PROGRAM_BYTES];
        random.nextBytes(program);
        MemorySegment.copy(
            MemorySegment.ofArray(program), 0, memory.segment(), CODE, program.length);
        String outcome = runOne(memory, program, random, cpl);
        outcomes.merge(outcome, 1, Integer::sum);
      }
    }
    System.out.println("seed " + seed + ", CPL " + cpl + ": " + outcomes);
    assertTrue(outcomes.getOrDefault("Halt", 0) > programs / 4, "most programs fault: " + outcomes);
  }

  private static String runOne(GuestMemory memory, byte[] program, Random random, int cpl)
      throws Exception {
    try (Partition partition = hypervisor.createPartition(new PartitionConfig("hostile"))) {
      partition.map(0, memory.segment(), MemoryFlag.READ_WRITE_EXECUTE);
      Vcpu vcpu = partition.createVcpu();
      LongMode mode =
          new LongMode(
              GDT, new InterruptDescriptorTable(32).register(IDT), TSS, TASK_STATE.limit(), TABLES);
      vcpu.setSpecialRegisters(cpl == 3 ? mode.userMode() : mode.kernelMode());
      long[] values = new long[18];
      for (int i = 0; i < 16; i++) {
        values[i] = DATA + random.nextInt(0x8000);
      }
      values[6] = cpl == 3 ? USER_STACK_TOP : STACK_TOP; // RSP
      values[16] = CODE;
      values[17] = 2; // interrupts off: nothing external arrives anyway
      vcpu.setRegisters(Registers.fromArray(values));
      ScheduledFuture<?> cancel =
          canceller.schedule(
              () -> vcpu.interrupter().interrupt(), CANCEL_AFTER_MS, TimeUnit.MILLISECONDS);
      try {
        for (int exits = 0; exits < MAX_EXITS; exits++) {
          VcpuExit exit;
          try {
            exit = vcpu.run();
          } catch (RuntimeException e) {
            fail("program " + HexFormat.of().formatHex(program) + " at CPL " + cpl + " threw", e);
            throw e;
          }
          switch (exit) {
            case VcpuExit.IoIn in -> vcpu.completeIoIn(random.nextLong());
            case VcpuExit.MmioRead read -> vcpu.completeMmioRead(random.nextLong());
            case VcpuExit.IoOut out -> {}
            case VcpuExit.MmioWrite write -> {}
            default -> {
              return exit.getClass().getSimpleName();
            }
          }
        }
        return "exits";
      } finally {
        cancel.cancel(false);
      }
    }
  }
}
