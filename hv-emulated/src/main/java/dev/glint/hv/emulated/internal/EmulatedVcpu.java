package dev.glint.hv.emulated.internal;

import dev.glint.hv.ClosedResourceException;
import dev.glint.hv.FpuState;
import dev.glint.hv.HypervisorException;
import dev.glint.hv.Registers;
import dev.glint.hv.SpecialRegisters;
import dev.glint.hv.Vcpu;
import dev.glint.hv.VcpuExit;
import dev.glint.hv.VcpuInterrupter;
import dev.glint.hv.emulated.internal.cpu.Cpu;
import dev.glint.hv.emulated.internal.cpu.Executor;
import dev.glint.hv.emulated.internal.memory.PhysicalMemory;

/**
 * The vCPU of an emulated partition: the SPI's view of an {@link Executor}. Register access reads
 * and writes the processor state directly (nothing is staged). Confined as {@link Vcpu} says; the
 * interrupter sets a volatile flag the run loop polls.
 */
final class EmulatedVcpu implements Vcpu {
  private final Executor executor;
  private final String label;
  private volatile boolean closed;
  private boolean lastExitIo;
  private boolean lastExitMmio;

  EmulatedVcpu(PhysicalMemory physical, String label) {
    this.executor = new Executor(physical);
    this.label = label;
  }

  private Cpu cpu() {
    if (closed) {
      throw new ClosedResourceException("vCPU of emulated partition '" + label + "'");
    }
    return executor.cpu();
  }

  void flushTranslations() {
    executor.flushTranslations();
  }

  @Override
  public Registers registers() {
    Cpu c = cpu();
    long[] r = c.r;
    return new Registers(
        r[0], r[3], r[1], r[2], r[6], r[7], r[4], r[5], r[8], r[9], r[10], r[11], r[12], r[13],
        r[14], r[15], c.rip, c.flags);
  }

  @Override
  public void setRegisters(Registers v) {
    Cpu c = cpu();
    long[] r = c.r;
    r[0] = v.rax();
    r[3] = v.rbx();
    r[1] = v.rcx();
    r[2] = v.rdx();
    r[6] = v.rsi();
    r[7] = v.rdi();
    r[4] = v.rsp();
    r[5] = v.rbp();
    r[8] = v.r8();
    r[9] = v.r9();
    r[10] = v.r10();
    r[11] = v.r11();
    r[12] = v.r12();
    r[13] = v.r13();
    r[14] = v.r14();
    r[15] = v.r15();
    c.rip = v.rip();
    c.flags = v.rflags();
    executor.registersChanged();
  }

  @Override
  public SpecialRegisters specialRegisters() {
    Cpu c = cpu();
    return new SpecialRegisters(
        c.seg[1],
        c.seg[3],
        c.seg[0],
        c.seg[4],
        c.seg[5],
        c.seg[2],
        c.tr,
        c.ldt,
        c.gdt,
        c.idt,
        c.cr0,
        c.cr2,
        c.cr3,
        c.cr4,
        c.cr8,
        c.efer,
        c.apicBase);
  }

  @Override
  public void setSpecialRegisters(SpecialRegisters s) {
    Cpu c = cpu();
    if ((s.cr0() & 0x8000_0001L) == 0x8000_0000L) {
      throw refused(s, "CR0.PG is set without CR0.PE, which no x86 processor accepts");
    }
    boolean lma = (s.efer() & (1L << 10)) != 0;
    boolean pg = (s.cr0() & (1L << 31)) != 0;
    if (pg && (!lma || (s.cr4() & (1L << 5)) == 0)) {
      throw refused(
          s, "paging outside long mode (32-bit or PAE paging) is not implemented by this backend");
    }
    if (lma != (pg && (s.efer() & (1L << 8)) != 0)) {
      throw refused(s, "EFER.LMA must equal EFER.LME and CR0.PG");
    }
    c.seg[1] = s.cs();
    c.seg[3] = s.ds();
    c.seg[0] = s.es();
    c.seg[4] = s.fs();
    c.seg[5] = s.gs();
    c.seg[2] = s.ss();
    c.tr = s.tr();
    c.ldt = s.ldt();
    c.gdt = s.gdt();
    c.idt = s.idt();
    c.cr0 = s.cr0();
    c.cr2 = s.cr2();
    c.cr3 = s.cr3();
    c.cr4 = s.cr4();
    c.cr8 = s.cr8();
    c.efer = s.efer();
    c.apicBase = s.apicBase();
    executor.stateChanged();
  }

  private HypervisorException refused(SpecialRegisters s, String why) {
    return new HypervisorException(
        EmulatedHypervisorProvider.NAME,
        "setSpecialRegisters",
        HypervisorException.NO_ERROR_CODE,
        "",
        "%s (CR0 0x%x, CR4 0x%x, EFER 0x%x)".formatted(why, s.cr0(), s.cr4(), s.efer()),
        null);
  }

  @Override
  public FpuState fpuState() {
    Cpu c = cpu();
    byte[] xmm = new byte[FpuState.XMM_BYTES];
    for (int i = 0; i < 32; i++) {
      for (int b = 0; b < 8; b++) {
        xmm[i * 8 + b] = (byte) (c.xmm[i] >>> (8 * b));
      }
    }
    return new FpuState(c.x87, c.fcw, c.fsw, c.ftw, c.fop, c.fip, c.fdp, xmm, c.mxcsr);
  }

  @Override
  public void setFpuState(FpuState state) {
    Cpu c = cpu();
    if ((state.mxcsr() & ~0xFFFF) != 0) {
      throw new HypervisorException(
          EmulatedHypervisorProvider.NAME,
          "setFpuState",
          HypervisorException.NO_ERROR_CODE,
          "",
          "MXCSR 0x%x has reserved bits set".formatted(state.mxcsr()),
          null);
    }
    byte[] xmm = state.xmm();
    for (int i = 0; i < 32; i++) {
      long v = 0;
      for (int b = 0; b < 8; b++) {
        v |= (xmm[i * 8 + b] & 0xFFL) << (8 * b);
      }
      c.xmm[i] = v;
    }
    c.x87 = state.x87();
    c.fcw = state.fcw();
    c.fsw = state.fsw();
    c.ftw = state.ftw();
    c.fop = state.lastOpcode();
    c.fip = state.lastInstructionPointer();
    c.fdp = state.lastDataPointer();
    c.mxcsr = state.mxcsr();
  }

  @Override
  public VcpuExit run() {
    cpu();
    VcpuExit exit = executor.run();
    lastExitIo = exit instanceof VcpuExit.IoIn;
    lastExitMmio = exit instanceof VcpuExit.MmioRead;
    return exit;
  }

  @Override
  public void completeIoIn(long value) {
    cpu();
    if (!lastExitIo || !executor.awaitingAnswer()) {
      throw new IllegalStateException("completeIoIn: the last exit was not an unanswered IoIn");
    }
    executor.answer(value);
  }

  @Override
  public void completeMmioRead(long value) {
    cpu();
    if (!lastExitMmio || !executor.awaitingAnswer()) {
      throw new IllegalStateException(
          "completeMmioRead: the last exit was not an unanswered MmioRead");
    }
    executor.answer(value);
  }

  @Override
  public void settle() {
    cpu();
    executor.settle();
    lastExitIo = false;
    lastExitMmio = false;
  }

  @Override
  public VcpuInterrupter interrupter() {
    cpu();
    return executor::cancel;
  }

  @Override
  public void close() {
    closed = true;
  }
}
