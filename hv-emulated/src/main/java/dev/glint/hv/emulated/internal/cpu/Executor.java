package dev.glint.hv.emulated.internal.cpu;

import dev.glint.hv.VcpuExit;
import dev.glint.hv.emulated.internal.fault.ExitRequest;
import dev.glint.hv.emulated.internal.fault.GuestFault;
import dev.glint.hv.emulated.internal.fault.InternalFailure;
import dev.glint.hv.emulated.internal.memory.PhysicalMemory;
import dev.glint.hv.emulated.internal.mmu.MmioHandler;
import dev.glint.hv.emulated.internal.mmu.Mmu;
import dev.glint.x86.decoder.CpuMode;

/**
 * The interpreter loop of one vCPU: fetch a decoded instruction, execute it through its family,
 * deliver the guest exceptions it raises, and stop at the next exit. It owns the processor state
 * ({@link #cpu()}), the MMU and the decoded-code cache.
 *
 * <p>Exits: {@code out}, MMIO writes and {@code hlt} complete their instruction and then exit;
 * {@code in} and MMIO reads exit before their instruction changes anything, and the instruction is
 * executed again once the host supplied the value. Cancellation is a volatile flag checked at every
 * run's start and every {@value #BATCH} instructions.
 *
 * <p>Confined to the vCPU's thread, but for {@link #cancel()}, which any thread may call.
 */
public final class Executor implements MmioHandler {
  static final int BATCH = 4096;

  /** How many items of a string instruction {@link #settle} completes before giving up. */
  private static final int SETTLE_LIMIT = 1 << 20;

  private final GuestFault fault = new GuestFault();
  private final ExitRequest exitRequest = new ExitRequest();
  private final Mmu mmu;
  private final Cpu cpu;
  private final CodeCache code;
  private final InterruptDelivery delivery;
  private volatile boolean cancelRequested;

  private VcpuExit exit;
  private boolean shutdown;
  private boolean settling;

  // The read the host must answer, and its answer.
  private boolean awaitingAnswer;
  private boolean answered;
  private boolean answerIsIo;
  private long answerAddress;
  private int answerSize;
  private long answer;

  private long instructions;

  /** Creates a vCPU in the reset state over {@code physical}. */
  public Executor(PhysicalMemory physical) {
    this.mmu = new Mmu(physical, this, fault);
    this.cpu = new Cpu(mmu, fault);
    this.code = new CodeCache(cpu, mmu);
    this.delivery = new InterruptDelivery(cpu);
    cpu.modeChanged();
  }

  /** {@return the processor state} */
  public Cpu cpu() {
    return cpu;
  }

  /** {@return the number of instructions executed so far} */
  public long instructions() {
    return instructions;
  }

  /** Asks the current or next run to stop with {@code Cancelled}. Any thread. */
  public void cancel() {
    cancelRequested = true;
  }

  /**
   * Applies new control registers and segments set by the host.
   *
   * @return false if they ask for paging in a mode the MMU does not implement
   */
  public boolean stateChanged() {
    shutdown = false;
    cpu.modeChanged();
    boolean supported = mmu.configure(cpu.cr0, cpu.cr3, cpu.cr4, cpu.efer);
    mmu.flush();
    return supported;
  }

  /** The host set new general registers: a shut-down vCPU may run again. */
  public void registersChanged() {
    shutdown = false;
  }

  /** Drops every cached translation (the memory map or dirty-tracking interval changed). */
  public void flushTranslations() {
    mmu.flush();
  }

  /** {@return whether an {@code in} or MMIO read waits for the host's answer} */
  public boolean awaitingAnswer() {
    return awaitingAnswer;
  }

  /** {@return the exit that is waiting for an answer, for messages} */
  public boolean awaitingIo() {
    return awaitingAnswer && answerIsIo;
  }

  /** Supplies the answer to the pending read. */
  public void answer(long value) {
    awaitingAnswer = false;
    answered = true;
    answer = value;
  }

  /** Runs until the next exit. */
  public VcpuExit run() {
    if (awaitingAnswer) {
      throw new IllegalStateException(
          "the last exit (%s) was not answered: call completeIoIn or completeMmioRead first"
              .formatted(answerIsIo ? "IoIn" : "MmioRead"));
    }
    if (cancelRequested) {
      cancelRequested = false;
      return new VcpuExit.Cancelled();
    }
    if (shutdown) {
      return new VcpuExit.Shutdown();
    }
    mmu.syncWithPhysicalMemory();
    code.validate();
    while (true) {
      for (int i = 0; i < BATCH; i++) {
        step();
        if (exit != null) {
          VcpuExit e = exit;
          exit = null;
          return e;
        }
      }
      if (cancelRequested) {
        cancelRequested = false;
        return new VcpuExit.Cancelled();
      }
    }
  }

  /**
   * Completes what the last exit left pending without running on: an unanswered read reads zero,
   * and a string instruction in progress runs to its end with zeros.
   *
   * @throws IllegalStateException if the string instruction has too many items left
   */
  public void settle() {
    if (!awaitingAnswer && !answered) {
      return;
    }
    if (awaitingAnswer) {
      answer(0);
    }
    long at = cpu.rip;
    settling = true;
    try {
      mmu.syncWithPhysicalMemory();
      code.validate();
      for (int i = 0; i < SETTLE_LIMIT; i++) {
        step();
        exit = null;
        if (cpu.rip != at || shutdown) {
          return;
        }
      }
      throw new IllegalStateException(
          "the string I/O instruction at RIP 0x%x has more than %d items left; run the guest instead"
              .formatted(at, SETTLE_LIMIT));
    } finally {
      settling = false;
      answered = false;
      awaitingAnswer = false;
    }
  }

  private long ipMask() {
    return switch (cpu.mode) {
      case LONG_64 -> -1L;
      case PROTECTED_32 -> 0xFFFF_FFFFL;
      case REAL_16 -> 0xFFFF;
    };
  }

  private void step() {
    long start = cpu.rip;
    long flags = cpu.flags;
    long rsp = cpu.r[4];
    try {
      Op op = code.fetch(cpu.linear(Cpu.CS, start, 8));
      cpu.rip = (start + op.length) & ipMask();
      dispatch(op);
      instructions++;
    } catch (GuestFault f) {
      cpu.rip = start;
      cpu.flags = flags;
      cpu.r[4] = rsp;
      if (!settling && exit instanceof VcpuExit.MmioWrite) {
        exit = null; // the instruction did not complete
      }
      delivery.deliverFault(f);
    } catch (ExitRequest e) {
      cpu.rip = start;
      cpu.flags = flags;
      cpu.r[4] = rsp;
    } catch (InternalFailure e) {
      cpu.rip = start;
      cpu.flags = flags;
      cpu.r[4] = rsp;
      exit = new VcpuExit.InternalError(0, e.getMessage());
    }
    if (delivery.takeShutdown()) {
      shutdown = true;
      exit = new VcpuExit.Shutdown();
    }
  }

  private void dispatch(Op op) {
    Cpu c = cpu;
    switch (op.mnemonic) {
      case ADD, OR, ADC, SBB, AND, SUB, XOR, CMP, TEST -> AluOps.binary(c, op);
      case INC, DEC, NOT, NEG -> AluOps.unary(c, op);
      case ROL, ROR, RCL, RCR, SHL, SHR, SAR -> AluOps.shift(c, op);
      case SHLD, SHRD -> AluOps.doubleShift(c, op);
      case MUL, IMUL, DIV, IDIV -> AluOps.multiplyDivide(c, op);
      case BT, BTS, BTR, BTC -> AluOps.bitTest(c, op);
      case BSF, BSR, TZCNT, LZCNT, POPCNT -> AluOps.bitScan(c, op);
      case XADD, CMPXCHG -> AluOps.exchangeArithmetic(c, op);
      case BSWAP -> MoveOps.bswap(c, op);
      case CBW, CWD -> MoveOps.convert(c, op);
      case MOV -> MoveOps.mov(c, op);
      case MOVZX, MOVSX, MOVSXD -> MoveOps.movExtend(c, op);
      case LEA -> MoveOps.lea(c, op);
      case XCHG -> MoveOps.xchg(c, op);
      case CMOVCC -> MoveOps.cmov(c, op);
      case SETCC -> MoveOps.setcc(c, op);
      case PUSH -> MoveOps.push(c, op);
      case POP -> MoveOps.pop(c, op);
      case PUSHF -> MoveOps.pushf(c, op);
      case POPF -> MoveOps.popf(c, op);
      case LAHF -> MoveOps.lahf(c);
      case SAHF -> MoveOps.sahf(c);
      case LEAVE -> MoveOps.leave(c, op);
      case JMP -> ControlFlowOps.jmp(c, op);
      case JMP_FAR -> ControlFlowOps.jmpFar(c, op);
      case JCC -> ControlFlowOps.jcc(c, op);
      case JRCXZ, LOOP, LOOPE, LOOPNE -> ControlFlowOps.loop(c, op);
      case CALL -> ControlFlowOps.call(c, op);
      case RET -> ControlFlowOps.ret(c, op);
      case INT3, INT -> ControlFlowOps.softwareInterrupt(c, op, delivery);
      case IRET -> ControlFlowOps.iret(c, op);
      case SYSCALL -> ControlFlowOps.syscall(c);
      case MOVS, CMPS, STOS, LODS, SCAS, INS, OUTS -> StringOps.execute(c, op, this);
      case CLC -> c.flags &= ~Cpu.CF;
      case STC -> c.flags |= Cpu.CF;
      case CMC -> c.flags ^= Cpu.CF;
      case CLD -> c.flags &= ~Cpu.DF;
      case STD -> c.flags |= Cpu.DF;
      case CLI -> SystemOps.cli(c, false);
      case STI -> SystemOps.cli(c, true);
      case NOP, PAUSE, ENDBR64, PREFETCH, LFENCE, MFENCE, SFENCE -> {}
      case UD2 -> throw fault.of(GuestFault.UD);
      case CPUID -> SystemOps.cpuid(c);
      case RDTSC -> SystemOps.rdtsc(c, false);
      case RDTSCP -> SystemOps.rdtsc(c, true);
      case XGETBV -> SystemOps.xgetbv(c);
      case HLT -> SystemOps.hlt(c, this);
      case IN -> SystemOps.in(c, op, this);
      case OUT -> SystemOps.out(c, op, this);
      case LGDT, LIDT, SGDT, SIDT -> SystemOps.descriptorTable(c, op);
      case LTR, STR, LLDT -> SystemOps.taskRegister(c, op);
      case INVLPG -> {
        SystemOps.requireCpl0(c);
        mmu.flushPage(c.address(op));
      }
      case CLTS -> {
        SystemOps.requireCpl0(c);
        c.cr0 &= ~8L;
      }
      case WBINVD -> SystemOps.requireCpl0(c);
      case RDMSR -> SystemOps.rdmsr(c);
      case WRMSR -> SystemOps.wrmsr(c);
      case SWAPGS -> SystemOps.swapgs(c);
      case MOVUPS,
          MOVAPS,
          MOVUPD,
          MOVAPD,
          MOVDQA,
          MOVDQU,
          MOVSS,
          MOVSD,
          MOVD,
          MOVQ,
          PXOR,
          PAND,
          PANDN,
          POR,
          XORPS,
          ANDPS,
          ANDNPS,
          ORPS,
          XORPD,
          ANDPD,
          ANDNPD,
          ORPD,
          PADDB,
          PADDW,
          PADDD,
          PADDQ,
          PSUBB,
          PSUBW,
          PSUBD,
          PSUBQ,
          PCMPEQB,
          PCMPEQW,
          PCMPEQD,
          PMOVMSKB,
          PUNPCKLQDQ,
          PSHUFD,
          PSRLDQ,
          PSLLDQ,
          ADDSS,
          ADDSD,
          SUBSS,
          SUBSD,
          MULSS,
          MULSD,
          DIVSS,
          DIVSD,
          SQRTSS,
          SQRTSD,
          MINSD,
          MAXSD,
          UCOMISS,
          UCOMISD,
          COMISS,
          COMISD,
          CVTSI2SS,
          CVTSI2SD,
          CVTTSS2SI,
          CVTTSD2SI,
          CVTSS2SD,
          CVTSD2SS,
          LDMXCSR,
          STMXCSR,
          FXSAVE,
          FXRSTOR ->
          SseOps.execute(c, op);
    }
  }

  // ---- Exits. ----

  boolean hasExit() {
    return exit != null;
  }

  void halt() {
    if (!settling) {
      exit = new VcpuExit.Halt();
    }
  }

  long portIn(int port, int size) {
    if (answered && answerIsIo && answerAddress == port && answerSize == size) {
      answered = false;
      return answer & Cpu.mask(size);
    }
    if (settling) {
      return 0;
    }
    exit = new VcpuExit.IoIn(port, size);
    expect(true, port, size);
    throw exitRequest;
  }

  void portOut(int port, int size, long value) {
    if (!settling) {
      exit = new VcpuExit.IoOut(port, size, value & Cpu.mask(size));
    }
  }

  private void expect(boolean io, long address, int size) {
    awaitingAnswer = true;
    answered = false;
    answerIsIo = io;
    answerAddress = address;
    answerSize = size;
  }

  @Override
  public long mmioRead(long gpa, int size) {
    if (answered && !answerIsIo && answerAddress == gpa && answerSize == size) {
      answered = false;
      return answer & Cpu.mask(size);
    }
    if (settling) {
      return 0;
    }
    exit = new VcpuExit.MmioRead(gpa, size);
    expect(false, gpa, size);
    throw exitRequest;
  }

  @Override
  public void mmioWrite(long gpa, int size, long value) {
    if (!settling && exit == null) {
      exit = new VcpuExit.MmioWrite(gpa, size, value);
    }
  }

  @Override
  public void codeWritten(long gpaPage) {
    code.invalidate(gpaPage);
  }

  /** {@return whether the processor is in 64-bit mode, for messages} */
  public boolean longMode() {
    return cpu.mode == CpuMode.LONG_64;
  }
}
