package dev.glint.hv.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.glint.hv.Availability;
import dev.glint.hv.Capability;
import dev.glint.hv.ClosedResourceException;
import dev.glint.hv.DescriptorTable;
import dev.glint.hv.GuestMemory;
import dev.glint.hv.Hypervisor;
import dev.glint.hv.HypervisorException;
import dev.glint.hv.MemoryFlag;
import dev.glint.hv.MemoryMapping;
import dev.glint.hv.MissingCapabilityException;
import dev.glint.hv.Partition;
import dev.glint.hv.PartitionConfig;
import dev.glint.hv.PrivilegedExecution;
import dev.glint.hv.Registers;
import dev.glint.hv.Segment;
import dev.glint.hv.SpecialRegisters;
import dev.glint.hv.Vcpu;
import dev.glint.hv.VcpuExit;
import dev.glint.hv.spi.HypervisorProvider;
import dev.glint.hv.spi.Hypervisors;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Runs tiny 16-bit real-mode guests on {@code /dev/kvm} through the public SPI. Skipped only when
 * {@code /dev/kvm} cannot be opened; any other probe failure fails the tests.
 *
 * <p>Guests start with CS base 0 and IP 0x1000, so GPA = offset. Each is hand-assembled; the bytes
 * carry the assembly (GNU as, {@code .code16}) in comments.
 */
class KvmBackendTest {
  static final long CODE = 0x1000;
  static final long DATA = 0x2000;

  /** {@code mov al,0x42; out 0x10,al; in al,0x11; mov [0x2000],al; hlt}. */
  static final byte[] OUT_IN_HLT = {
    (byte) 0xB0,
    0x42, // mov $0x42, %al
    (byte) 0xE6,
    0x10, // out %al, $0x10
    (byte) 0xE4,
    0x11, // in $0x11, %al
    (byte) 0xA2,
    0x00,
    0x20, // mov %al, 0x2000
    (byte) 0xF4, // hlt
  };

  /** {@code mov byte [0x8000],0x99; mov al,[0x8004]; out 0x10,al; hlt} (0x8000 is unmapped). */
  static final byte[] MMIO = {
    (byte) 0xC6,
    0x06,
    0x00,
    (byte) 0x80,
    (byte) 0x99, // movb $0x99, 0x8000
    (byte) 0xA0,
    0x04,
    (byte) 0x80, // mov 0x8004, %al
    (byte) 0xE6,
    0x10, // out %al, $0x10
    (byte) 0xF4, // hlt
  };

  /** {@code mov byte [0x3000],0x77; hlt}. */
  static final byte[] WRITE_3000 = {
    (byte) 0xC6,
    0x06,
    0x00,
    0x30,
    0x77, // movb $0x77, 0x3000
    (byte) 0xF4, // hlt
  };

  /** {@code 1: out 0x10,al; jmp 1b}. */
  static final byte[] OUT_LOOP = {
    (byte) 0xE6,
    0x10, // out %al, $0x10
    (byte) 0xEB,
    (byte) 0xFC, // jmp -4
  };

  /** {@code popcnt ax,bx; hlt}. */
  static final byte[] POPCNT = {
    (byte) 0xF3,
    0x0F,
    (byte) 0xB8,
    (byte) 0xC3, // popcnt %bx, %ax
    (byte) 0xF4, // hlt
  };

  /** {@code ud2}, run with an empty interrupt table so the CPU triple-faults. */
  static final byte[] UD2 = {0x0F, 0x0B};

  /** {@code jmp $}. */
  static final byte[] SPIN = {(byte) 0xEB, (byte) 0xFE};

  /** {@code mov cx,3; mov si,0x2000; rep outsb; hlt} (port in DX). */
  static final byte[] REP_OUTSB = {
    (byte) 0xB9,
    0x03,
    0x00, // mov $0x3, %cx
    (byte) 0xBE,
    0x00,
    0x20, // mov $0x2000, %si
    (byte) 0xF3,
    0x6E, // rep outsb %ds:(%si), (%dx)
    (byte) 0xF4, // hlt
  };

  /** {@code mov cx,3; mov di,0x2000; mov dx,0x11; rep insb; hlt}. */
  static final byte[] REP_INSB = {
    (byte) 0xB9,
    0x03,
    0x00, // mov $0x3, %cx
    (byte) 0xBF,
    0x00,
    0x20, // mov $0x2000, %di
    (byte) 0xBA,
    0x11,
    0x00, // mov $0x11, %dx
    (byte) 0xF3,
    0x6C, // rep insb (%dx), %es:(%di)
    (byte) 0xF4, // hlt
  };

  Hypervisor hypervisor;

  static HypervisorProvider kvmProvider() {
    Path device = Path.of("/dev/kvm");
    assumeTrue(
        Files.isReadable(device) && Files.isWritable(device),
        "/dev/kvm is absent or not accessible here; the KVM backend cannot run");
    HypervisorProvider provider = Hypervisors.provider("kvm").orElseThrow();
    Availability availability = provider.probe();
    assertTrue(availability.isAvailable(), () -> "KVM probe: " + availability);
    return provider;
  }

  /** Whether the hypervisor under test may use {@code kvm_run} sync registers. */
  boolean syncRegs() {
    return true;
  }

  @BeforeEach
  void open() {
    HypervisorProvider provider = kvmProvider();
    System.setProperty("glint.hv.kvm.syncRegs", Boolean.toString(syncRegs()));
    try {
      hypervisor = provider.open();
    } finally {
      System.clearProperty("glint.hv.kvm.syncRegs");
    }
  }

  @AfterEach
  void close() {
    if (hypervisor != null) {
      hypervisor.close();
    }
  }

  /** A partition with {@code pages} of RAM at GPA 0 holding {@code code} at 0x1000. */
  record Guest(Partition partition, GuestMemory memory, MemoryMapping ram, Vcpu vcpu) {
    MemorySegment bytes() {
      return memory.segment();
    }
  }

  Guest guest(byte[] code, int pages, Set<MemoryFlag> flags) {
    GuestMemory memory = hypervisor.allocateMemory(pages * Partition.PAGE_SIZE);
    MemorySegment.copy(code, 0, memory.segment(), ValueLayout.JAVA_BYTE, CODE, code.length);
    Partition partition = hypervisor.createPartition(new PartitionConfig("test"));
    MemoryMapping ram = partition.map(0, memory.segment(), flags);
    Vcpu vcpu = partition.createVcpu();
    startRealMode(vcpu, CODE);
    return new Guest(partition, memory, ram, vcpu);
  }

  Guest guest(byte[] code) {
    return guest(code, 4, MemoryFlag.READ_WRITE_EXECUTE);
  }

  /** Real mode with CS base 0, so IP is a GPA. */
  static void startRealMode(Vcpu vcpu, long ip) {
    SpecialRegisters reset = vcpu.specialRegisters();
    assertEquals(0, reset.cr0() & 1, "a new vCPU starts in real mode");
    Segment cs = reset.cs();
    vcpu.setSpecialRegisters(
        reset.withCodeAndStack(
            new Segment(
                0,
                0xFFFF,
                0,
                cs.type(),
                cs.present(),
                cs.dpl(),
                cs.defaultSize(),
                cs.system(),
                cs.longMode(),
                cs.granularity(),
                cs.unusable()),
            reset.ss()));
    vcpu.setRegisters(Registers.initial().withRip(ip));
  }

  @Test
  void probeDescribesThisHost() {
    assertEquals("kvm", hypervisor.name());
    assertTrue(hypervisor.description().startsWith("KVM API 12"), hypervisor.description());
    boolean pvm = Files.exists(Path.of("/sys/module/kvm_pvm"));
    assertEquals(
        pvm ? PrivilegedExecution.EMULATED : PrivilegedExecution.NATIVE,
        hypervisor.privilegedExecution());
    assertTrue(
        hypervisor.has(Capability.CANCEL), () -> "capabilities " + hypervisor.capabilities());
    assertTrue(!hypervisor.has(Capability.EXECUTE_PROTECTION), "KVM has no per-slot no-execute");
    assertTrue(hypervisor.maxMemoryBytes() >= 1L << 32);
  }

  @Test
  void realModeOutInHalt() {
    Guest g = guest(OUT_IN_HLT);
    assertEquals(new VcpuExit.IoOut(0x10, 1, 0x42), g.vcpu().run());
    assertEquals(new VcpuExit.IoIn(0x11, 1), g.vcpu().run());
    g.vcpu().completeIoIn(0x1234_5677); // only the low byte is used
    assertEquals(new VcpuExit.Halt(), g.vcpu().run());
    assertEquals(0x77, g.bytes().get(ValueLayout.JAVA_BYTE, DATA));
    Registers after = g.vcpu().registers();
    assertEquals(CODE + OUT_IN_HLT.length, after.rip(), "RIP after hlt");
    assertEquals(0x77, after.rax() & 0xFF);
  }

  @Test
  void runWithUnansweredInThrows() {
    Guest g = guest(OUT_IN_HLT);
    g.vcpu().run();
    assertInstanceOf(VcpuExit.IoIn.class, g.vcpu().run());
    IllegalStateException e = assertThrows(IllegalStateException.class, g.vcpu()::run);
    assertTrue(e.getMessage().contains("completeIoIn"), e.getMessage());
    assertThrows(IllegalStateException.class, () -> g.vcpu().completeMmioRead(1));
    g.vcpu().completeIoIn(1);
    assertThrows(IllegalStateException.class, () -> g.vcpu().completeIoIn(1), "answered twice");
    assertEquals(new VcpuExit.Halt(), g.vcpu().run());
  }

  @Test
  void mmioToUnmappedAddress() {
    Guest g = guest(MMIO);
    assertEquals(new VcpuExit.MmioWrite(0x8000, 1, 0x99), g.vcpu().run());
    assertEquals(new VcpuExit.MmioRead(0x8004, 1), g.vcpu().run());
    g.vcpu().completeMmioRead(0x5A);
    assertEquals(new VcpuExit.IoOut(0x10, 1, 0x5A), g.vcpu().run());
    assertEquals(new VcpuExit.Halt(), g.vcpu().run());
  }

  @Test
  void writeToReadOnlySlotExitsAsMmioAndLeavesMemory() {
    assumeTrue(hypervisor.has(Capability.READ_ONLY_MEMORY));
    Guest g = guest(WRITE_3000, 3, MemoryFlag.READ_WRITE_EXECUTE);
    GuestMemory rom = hypervisor.allocateMemory(Partition.PAGE_SIZE);
    rom.segment().set(ValueLayout.JAVA_BYTE, 0, (byte) 0x11);
    g.partition().map(0x3000, rom.segment(), MemoryFlag.READ_EXECUTE);
    assertEquals(new VcpuExit.MmioWrite(0x3000, 1, 0x77), g.vcpu().run());
    assertEquals(new VcpuExit.Halt(), g.vcpu().run());
    assertEquals(0x11, rom.segment().get(ValueLayout.JAVA_BYTE, 0), "read-only memory unchanged");
  }

  @Test
  void dirtyLogReportsExactlyTheWrittenPage() {
    EnumSet<MemoryFlag> flags = EnumSet.copyOf(MemoryFlag.READ_WRITE_EXECUTE);
    flags.add(MemoryFlag.TRACK_DIRTY);
    Guest g = guest(OUT_IN_HLT, 8, flags);
    assertEquals(new BitSet(), g.partition().dirtyPages(g.ram()), "nothing written yet");
    g.vcpu().run();
    g.vcpu().run();
    g.vcpu().completeIoIn(5);
    assertEquals(new VcpuExit.Halt(), g.vcpu().run());
    BitSet expected = new BitSet();
    expected.set((int) (DATA / Partition.PAGE_SIZE));
    assertEquals(expected, g.partition().dirtyPages(g.ram()));
    assertEquals(new BitSet(), g.partition().dirtyPages(g.ram()), "the log was cleared");
  }

  @Test
  void dirtyPagesNeedsTrackDirty() {
    Guest g = guest(OUT_IN_HLT);
    assertThrows(IllegalArgumentException.class, () -> g.partition().dirtyPages(g.ram()));
  }

  @Test
  void interruptStopsASpinningGuestAndItRunsAgain() throws Exception {
    Guest g = guest(SPIN);
    var interrupter = g.vcpu().interrupter();
    long[] latencies = new long[5];
    for (int round = 0; round < latencies.length; round++) {
      long[] kickedAt = new long[1];
      CompletableFuture<Void> kicker =
          CompletableFuture.runAsync(
              () -> {
                sleep(30);
                kickedAt[0] = System.nanoTime();
                interrupter.interrupt();
              });
      VcpuExit exit = g.vcpu().run();
      long returnedAt = System.nanoTime();
      kicker.get(5, TimeUnit.SECONDS);
      latencies[round] = TimeUnit.NANOSECONDS.toMicros(returnedAt - kickedAt[0]);
      assertEquals(new VcpuExit.Cancelled(), exit);
      assertEquals(CODE, g.vcpu().registers().rip(), "still at jmp $");
    }
    // The median, so that one scheduling hiccup on a loaded 2-core machine does not fail the test;
    // a broken kick would hang or take seconds every time.
    long[] sorted = latencies.clone();
    java.util.Arrays.sort(sorted);
    assertTrue(
        sorted[sorted.length / 2] < 50_000,
        "run() returned after interrupt() in " + java.util.Arrays.toString(latencies) + " µs");
    g.bytes().set(ValueLayout.JAVA_BYTE, CODE, (byte) 0xF4); // hlt over the jmp
    assertEquals(new VcpuExit.Halt(), g.vcpu().run(), "the vCPU runs again after Cancelled");
  }

  @Test
  void interruptsRacingWithShortRunsNeitherHangNorLinger() throws Exception {
    Guest g = guest(OUT_LOOP);
    var interrupter = g.vcpu().interrupter();
    java.util.concurrent.atomic.AtomicBoolean stop =
        new java.util.concurrent.atomic.AtomicBoolean();
    // Kicks land anywhere: before KVM_RUN, inside it, and while the thread runs Java code.
    Thread hammer =
        Thread.ofPlatform()
            .start(
                () -> {
                  while (!stop.get()) {
                    interrupter.interrupt();
                    Thread.onSpinWait();
                  }
                });
    int cancelled = 0;
    int outs = 0;
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(500);
    try {
      while (System.nanoTime() < deadline) {
        switch (g.vcpu().run()) {
          case VcpuExit.Cancelled c -> cancelled++;
          case VcpuExit.IoOut out -> outs++;
          case VcpuExit other -> throw new AssertionError("unexpected " + other);
        }
      }
    } finally {
      stop.set(true);
      hammer.join(5000);
    }
    assertTrue(cancelled > 0, "some runs were cancelled (" + outs + " outs)");
    // At most one interrupt is still pending; after it, the guest runs normally.
    VcpuExit next = g.vcpu().run();
    if (next instanceof VcpuExit.Cancelled) {
      next = g.vcpu().run();
    }
    assertEquals(new VcpuExit.IoOut(0x10, 1, 0), next);
    assertEquals(new VcpuExit.IoOut(0x10, 1, 0), g.vcpu().run());
  }

  @Test
  void aRunOnAnotherThreadIsKickedThere() throws Exception {
    Guest g = guest(SPIN);
    g.vcpu().interrupter().interrupt();
    assertEquals(new VcpuExit.Cancelled(), g.vcpu().run()); // this thread
    CompletableFuture<VcpuExit> elsewhere = new CompletableFuture<>();
    Thread.ofPlatform().start(() -> elsewhere.complete(g.vcpu().run()));
    sleep(30);
    g.vcpu().interrupter().interrupt();
    assertEquals(new VcpuExit.Cancelled(), elsewhere.get(5, TimeUnit.SECONDS));
  }

  @Test
  void interruptBeforeRunIsSticky() {
    Guest g = guest(OUT_IN_HLT);
    g.vcpu().interrupter().interrupt();
    g.vcpu().interrupter().interrupt(); // twice is still one cancellation
    assertEquals(new VcpuExit.Cancelled(), g.vcpu().run());
    assertEquals(new VcpuExit.IoOut(0x10, 1, 0x42), g.vcpu().run());
  }

  @Test
  void tripleFaultIsShutdown() {
    Guest g = guest(UD2);
    SpecialRegisters reset = g.vcpu().specialRegisters();
    // Flat 32-bit protected mode (descriptor caches set directly, no GDT needed) with an empty IDT:
    // the #UD cannot be delivered (#GP), nor can that (#DF): a triple fault.
    Segment code =
        new Segment(0, 0xFFFF_FFFFL, 0x08, 0xB, true, 0, true, false, false, true, false);
    Segment data =
        new Segment(0, 0xFFFF_FFFFL, 0x10, 0x3, true, 0, true, false, false, true, false);
    g.vcpu()
        .setSpecialRegisters(
            new SpecialRegisters(
                code,
                data,
                data,
                data,
                data,
                data,
                reset.tr(),
                reset.ldt(),
                reset.gdt(),
                new DescriptorTable(0, 0),
                reset.cr0() | 1,
                0,
                0,
                0,
                0,
                0,
                reset.apicBase()));
    assertEquals(new VcpuExit.Shutdown(), g.vcpu().run());
  }

  @Test
  void popcntAtCpl0IsAnInternalErrorOnPvmAndRunsElsewhere() {
    Guest g = guest(POPCNT);
    g.vcpu().setRegisters(g.vcpu().registers().with(dev.glint.hv.Register.RBX, 0xF0F0));
    VcpuExit exit = g.vcpu().run();
    if (hypervisor.privilegedExecution() == PrivilegedExecution.EMULATED) {
      // machine-facts.md: KVM's emulator does not know popcnt, so PVM stops the VM at CPL 0.
      VcpuExit.InternalError error = assertInstanceOf(VcpuExit.InternalError.class, exit);
      assertEquals(1, error.code(), error.description());
      assertTrue(error.description().contains("KVM_INTERNAL_ERROR_EMULATION"), error.description());
    } else {
      assertEquals(new VcpuExit.Halt(), exit);
      assertEquals(8, g.vcpu().registers().rax() & 0xFFFF);
    }
  }

  @Test
  void repOutsbHandsOutEveryByte() {
    Guest g = guest(REP_OUTSB);
    MemorySegment.copy(new byte[] {7, 8, 9}, 0, g.bytes(), ValueLayout.JAVA_BYTE, DATA, 3);
    g.vcpu().setRegisters(g.vcpu().registers().with(dev.glint.hv.Register.RDX, 0x10));
    assertEquals(new VcpuExit.IoOut(0x10, 1, 7), g.vcpu().run());
    assertEquals(new VcpuExit.IoOut(0x10, 1, 8), g.vcpu().run());
    assertEquals(new VcpuExit.IoOut(0x10, 1, 9), g.vcpu().run());
    assertEquals(new VcpuExit.Halt(), g.vcpu().run());
    assertEquals(0, g.vcpu().registers().rcx(), "CX counted down");
  }

  @Test
  void repInsbAsksForEveryByte() {
    Guest g = guest(REP_INSB);
    for (int i = 1; i <= 3; i++) {
      assertEquals(new VcpuExit.IoIn(0x11, 1), g.vcpu().run());
      g.vcpu().completeIoIn(0xA0 + i);
    }
    assertEquals(new VcpuExit.Halt(), g.vcpu().run());
    for (int i = 0; i < 3; i++) {
      assertEquals((byte) (0xA1 + i), g.bytes().get(ValueLayout.JAVA_BYTE, DATA + i));
    }
  }

  @Test
  void badArgumentsFailFast() {
    Guest g = guest(OUT_IN_HLT);
    Partition p = g.partition();
    MemorySegment page = hypervisor.allocateMemory(2 * Partition.PAGE_SIZE).segment();
    assertThrows(
        IllegalArgumentException.class,
        () -> p.map(0x10_0001, page, MemoryFlag.READ_WRITE_EXECUTE));
    assertThrows(
        IllegalArgumentException.class,
        () -> p.map(0x10_0000, page.asSlice(1, 4096), MemoryFlag.READ_WRITE_EXECUTE));
    assertThrows(
        IllegalArgumentException.class,
        () -> p.map(0x10_0000, page.asSlice(0, 100), MemoryFlag.READ_WRITE_EXECUTE));
    assertThrows(
        IllegalArgumentException.class,
        () -> p.map(0x10_0000, page.asSlice(0, 0), MemoryFlag.READ_WRITE_EXECUTE));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            p.map(0x10_0000, MemorySegment.ofArray(new byte[4096]), MemoryFlag.READ_WRITE_EXECUTE));
    assertThrows(
        IllegalArgumentException.class,
        () -> p.map(0x10_0000, page.asReadOnly(), MemoryFlag.READ_WRITE_EXECUTE));
    assertThrows(
        IllegalArgumentException.class,
        () -> p.map(0x10_0000, page, Set.of(MemoryFlag.WRITE, MemoryFlag.EXECUTE)));
    IllegalArgumentException overlap =
        assertThrows(
            IllegalArgumentException.class,
            () -> p.map(0x3000, page, MemoryFlag.READ_WRITE_EXECUTE));
    assertTrue(overlap.getMessage().contains("overlaps"), overlap.getMessage());
    MissingCapabilityException noExec =
        assertThrows(
            MissingCapabilityException.class,
            () -> p.map(0x10_0000, page, Set.of(MemoryFlag.READ, MemoryFlag.WRITE)));
    assertEquals(Capability.EXECUTE_PROTECTION, noExec.capability());
    assertThrows(
        IllegalArgumentException.class,
        () -> p.unmap(new MemoryMapping(0, 4 * Partition.PAGE_SIZE, MemoryFlag.READ_WRITE_EXECUTE)),
        "an equal value is not the mapping");
    assertThrows(IllegalStateException.class, p::createVcpu);
    assertThrows(IllegalArgumentException.class, () -> hypervisor.allocateMemory(100));
    assertThrows(IllegalArgumentException.class, () -> hypervisor.allocateMemory(0));

    try (Partition other = hypervisor.createPartition(PartitionConfig.defaults())) {
      MemoryMapping foreign = other.map(0, page, MemoryFlag.READ_WRITE_EXECUTE);
      assertThrows(IllegalArgumentException.class, () -> p.unmap(foreign));
      other.unmap(foreign);
      assertEquals(java.util.List.of(), other.mappings());
    }
    assertEquals(java.util.List.of(g.ram()), p.mappings());
  }

  @Test
  void unmapFreesTheSlotForReuse() {
    Guest g = guest(OUT_IN_HLT);
    MemorySegment extra = hypervisor.allocateMemory(Partition.PAGE_SIZE).segment();
    // Far more map/unmap pairs than KVM has slots: each unmap must free its slot.
    for (int i = 0; i < 1000; i++) {
      MemoryMapping m = g.partition().map(0x10_0000, extra, MemoryFlag.READ_WRITE_EXECUTE);
      g.partition().unmap(m);
    }
    g.partition().unmap(g.ram());
    assertEquals(java.util.List.of(), g.partition().mappings());
    g.partition().map(0, g.bytes(), MemoryFlag.READ_WRITE_EXECUTE);
    assertEquals(new VcpuExit.IoOut(0x10, 1, 0x42), g.vcpu().run());
  }

  @Test
  void closedResourcesThrow() {
    Guest g = guest(OUT_IN_HLT);
    Vcpu vcpu = g.vcpu();
    g.partition().close();
    g.partition().close(); // idempotent
    assertTrue(g.partition().isClosed());
    assertThrows(ClosedResourceException.class, vcpu::run);
    assertThrows(ClosedResourceException.class, vcpu::registers);
    assertThrows(
        ClosedResourceException.class,
        () -> g.partition().map(0, g.bytes(), MemoryFlag.READ_WRITE_EXECUTE));
    assertThrows(ClosedResourceException.class, g.partition()::createVcpu);
    vcpu.interrupter(); // still obtainable? it may throw Closed; the handle itself does nothing
    g.memory().close();
    assertThrows(ClosedResourceException.class, g.memory()::segment);
    hypervisor.close();
    hypervisor.close();
    assertThrows(
        ClosedResourceException.class,
        () -> hypervisor.createPartition(PartitionConfig.defaults()));
    assertThrows(ClosedResourceException.class, () -> hypervisor.allocateMemory(4096));
  }

  @Test
  void hypervisorCloseClosesChildren() {
    Guest g = guest(OUT_IN_HLT);
    hypervisor.close();
    assertTrue(g.partition().isClosed());
    assertThrows(ClosedResourceException.class, g.memory()::segment);
    assertThrows(ClosedResourceException.class, g.vcpu()::run);
  }

  @Test
  void registersRoundTripBeforeAndAfterRun() {
    Guest g = guest(OUT_IN_HLT);
    Registers regs =
        Registers.fromArray(
            new long[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, CODE, 0x2});
    g.vcpu().setRegisters(regs);
    assertEquals(regs, g.vcpu().registers());
    assertEquals(new VcpuExit.IoOut(0x10, 1, 0x42), g.vcpu().run());
    Registers after = g.vcpu().registers();
    assertEquals(CODE + 4, after.rip());
    assertEquals(0x42, after.rax(), "mov al only changes AL of RAX=1");
    assertEquals(regs.rbx(), after.rbx());
    assertEquals(regs.r15(), after.r15());
  }

  @Test
  void specialRegistersRoundTripThroughKvm() {
    Guest g = guest(OUT_IN_HLT);
    Segment code =
        new Segment(0, 0xFFFF_FFFFL, 0x08, 0xB, true, 0, false, false, true, true, false);
    Segment data =
        new Segment(0, 0xFFFF_FFFFL, 0x10, 0x3, true, 0, true, false, false, true, false);
    Segment tss = new Segment(0x5000, 0x67, 0x18, 0xB, true, 0, false, true, false, false, false);
    Segment ldt = new Segment(0, 0xFFFF, 0, 0x2, true, 0, false, true, false, false, false);
    SpecialRegisters longMode =
        new SpecialRegisters(
            code,
            data,
            data,
            data,
            data,
            data,
            tss,
            ldt,
            new DescriptorTable(0x4000, 0x27),
            new DescriptorTable(0x4100, 0xFFF),
            0x8000_0033L, // PG, NE, ET, MP, PE
            0x1234_5000L,
            0x10000,
            0x620, // OSXMMEXCPT, OSFXSR, PAE
            0,
            0x500, // LMA, LME
            g.vcpu().specialRegisters().apicBase());
    g.vcpu().setSpecialRegisters(longMode);
    assertEquals(longMode, g.vcpu().specialRegisters(), "as staged or as set");
    g.vcpu().interrupter().interrupt(); // let KVM load them without running guest code
    assertEquals(new VcpuExit.Cancelled(), g.vcpu().run());
    assertEquals(longMode, g.vcpu().specialRegisters(), "as KVM holds them");
  }

  @Test
  void closeFromAnotherThreadStopsARunningVcpu() throws Exception {
    Guest g = guest(SPIN);
    CompletableFuture<Void> closer =
        CompletableFuture.runAsync(
            () -> {
              sleep(30);
              g.partition().close();
            });
    assertEquals(new VcpuExit.Cancelled(), g.vcpu().run());
    closer.get(5, TimeUnit.SECONDS);
    assertTrue(g.partition().isClosed());
    assertThrows(ClosedResourceException.class, g.vcpu()::run);
  }

  @Test
  void fileDescriptorsReturnToBaselineAfter200Lifecycles() throws IOException {
    // Warm up everything that opens fds lazily (class loading, JIT, the first VM).
    lifecycle();
    long baseline = openFds();
    for (int i = 0; i < 200; i++) {
      lifecycle();
    }
    assertEquals(baseline, openFds(), "open file descriptors after 200 create/run/close cycles");
  }

  private void lifecycle() {
    Guest g = guest(OUT_IN_HLT);
    assertEquals(new VcpuExit.IoOut(0x10, 1, 0x42), g.vcpu().run());
    g.partition().close();
    g.memory().close();
  }

  static long openFds() throws IOException {
    try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
      return fds.count();
    }
  }

  @Test
  void failuresNameTheCall() {
    Guest g = guest(OUT_IN_HLT);
    // Two slots over the same host page are fine for KVM, but a GPA beyond the address width is
    // not.
    long limit = hypervisor.maxMemoryBytes();
    IllegalArgumentException tooHigh =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                g.partition()
                    .map(limit, g.bytes().asSlice(0, 4096), MemoryFlag.READ_WRITE_EXECUTE));
    assertTrue(tooHigh.getMessage().contains("address space"), tooHigh.getMessage());
    // Long mode without paging is rejected by KVM when the staged registers are applied.
    SpecialRegisters bad = g.vcpu().specialRegisters();
    bad =
        new SpecialRegisters(
            bad.cs(),
            bad.ds(),
            bad.es(),
            bad.fs(),
            bad.gs(),
            bad.ss(),
            bad.tr(),
            bad.ldt(),
            bad.gdt(),
            bad.idt(),
            bad.cr0() | 0x8000_0000L,
            bad.cr2(),
            bad.cr3(),
            bad.cr4(),
            bad.cr8(),
            bad.efer(),
            bad.apicBase());
    SpecialRegisters invalid = bad;
    HypervisorException e =
        assertThrows(
            HypervisorException.class,
            () -> {
              g.vcpu().setSpecialRegisters(invalid);
              g.vcpu().run();
            });
    assertEquals("kvm", e.backend());
    assertTrue(
        e.operation().equals("KVM_RUN") || e.operation().equals("KVM_SET_SREGS"), e.getMessage());
    assertEquals("EINVAL", e.errorName(), e.getMessage());
  }

  static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  static MemorySegment heapPage() {
    return Arena.ofAuto().allocate(4096, 4096);
  }
}
