package dev.glint.hv.whp.internal;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import dev.glint.hv.Capability;
import dev.glint.hv.FpuState;
import dev.glint.hv.MissingCapabilityException;
import dev.glint.hv.Registers;
import dev.glint.hv.Segment;
import dev.glint.hv.SpecialRegisters;
import dev.glint.hv.Vcpu;
import dev.glint.hv.VcpuExit;
import dev.glint.hv.VcpuInterrupter;
import dev.glint.hv.whp.internal.sys.WhvConstants;
import dev.glint.hv.whp.internal.sys.WhvRegisterValue;
import dev.glint.hv.whp.internal.sys.WhvRunVpExitContext;
import dev.glint.hv.whp.internal.sys.WinHvPlatform;
import dev.glint.x86.decoder.CpuMode;
import dev.glint.x86.decoder.MmioInstruction;
import dev.glint.x86.decoder.UnsupportedMmioInstructionException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Virtual processor 0 of a {@link WhpPartition}.
 *
 * <p><b>The VMM completes exits.</b> WHP stops the processor at an I/O or memory-access instruction
 * and leaves it to the VMM: this class advances RIP by the exit's instruction length, writes RAX
 * for {@code in} (merging 8- and 16-bit values, zero-extending 32-bit ones), and for a memory
 * access decodes the instruction bytes of the exit context with the shared x86 decoder to find the
 * size, the data stored or the register loaded, and the length. String I/O ({@code ins}/{@code
 * outs}, with or without {@code rep}) is done one item per exit: the item's memory is read or
 * written through {@code WHvTranslateGva} and the partition's mappings, RSI/RDI step by the size
 * (backwards with RFLAGS.DF), RCX counts down, and RIP moves on when the count is done, so the next
 * run exits again for the next item. An {@code out} or a store is completed before {@link #run()}
 * returns it (the registers already show the guest past it); an {@code in} or a load when the
 * caller answers, or as zero by {@link #settle()}.
 *
 * <p>Registers are read and written with one {@code WHvGet/SetVirtualProcessorRegisters} call per
 * set (18 general, 17 special); {@code WHV_REGISTER_VALUE} arrays are 16-byte aligned.
 *
 * <p><b>Threading:</b> confined to one thread at a time (checked: overlapping calls throw); see
 * {@link WhpInterrupter} for the interrupt handle and for close during a run.
 */
final class WhpVcpu implements Vcpu {
  static final int VP_INDEX = 0;

  /** Register names in {@link dev.glint.hv.Register} order. */
  private static final int[] GENERAL = {
    WhvConstants.WHvX64RegisterRax,
    WhvConstants.WHvX64RegisterRbx,
    WhvConstants.WHvX64RegisterRcx,
    WhvConstants.WHvX64RegisterRdx,
    WhvConstants.WHvX64RegisterRsi,
    WhvConstants.WHvX64RegisterRdi,
    WhvConstants.WHvX64RegisterRsp,
    WhvConstants.WHvX64RegisterRbp,
    WhvConstants.WHvX64RegisterR8,
    WhvConstants.WHvX64RegisterR9,
    WhvConstants.WHvX64RegisterR10,
    WhvConstants.WHvX64RegisterR11,
    WhvConstants.WHvX64RegisterR12,
    WhvConstants.WHvX64RegisterR13,
    WhvConstants.WHvX64RegisterR14,
    WhvConstants.WHvX64RegisterR15,
    WhvConstants.WHvX64RegisterRip,
    WhvConstants.WHvX64RegisterRflags
  };

  /** Register names in {@link SpecialRegisters} component order. */
  private static final int[] SPECIAL = {
    WhvConstants.WHvX64RegisterCs,
    WhvConstants.WHvX64RegisterDs,
    WhvConstants.WHvX64RegisterEs,
    WhvConstants.WHvX64RegisterFs,
    WhvConstants.WHvX64RegisterGs,
    WhvConstants.WHvX64RegisterSs,
    WhvConstants.WHvX64RegisterTr,
    WhvConstants.WHvX64RegisterLdtr,
    WhvConstants.WHvX64RegisterGdtr,
    WhvConstants.WHvX64RegisterIdtr,
    WhvConstants.WHvX64RegisterCr0,
    WhvConstants.WHvX64RegisterCr2,
    WhvConstants.WHvX64RegisterCr3,
    WhvConstants.WHvX64RegisterCr4,
    WhvConstants.WHvX64RegisterCr8,
    WhvConstants.WHvX64RegisterEfer,
    WhvConstants.WHvX64RegisterApicBase
  };

  /** XMM0..15, ST0..7, then the two control/status registers. */
  private static final int[] FPU = new int[16 + 8 + 2];

  static {
    for (int i = 0; i < 16; i++) {
      FPU[i] = WhvConstants.WHvX64RegisterXmm0 + i;
    }
    for (int i = 0; i < 8; i++) {
      FPU[16 + i] = WhvConstants.WHvX64RegisterFpMmx0 + i;
    }
    FPU[24] = WhvConstants.WHvX64RegisterFpControlStatus;
    FPU[25] = WhvConstants.WHvX64RegisterXmmControlStatus;
  }

  private static final long RFLAGS_DF = 1L << 10;
  private static final long EFER_LMA = 1L << 10;

  /** The most items {@link #settle()} completes with zeros for a pending {@code rep ins}. */
  private static final long MAX_SETTLE_ITEMS = 1 << 20;

  private enum Pending {
    NONE,
    IO_IN,
    MMIO_READ
  }

  private final WhpPartition partition;
  private final WinHvPlatform platform;
  private final MemorySegment handle;
  private final String resource;
  private final boolean fpuAccess;
  private final WhpInterrupter interrupter;
  private final AtomicBoolean closed = new AtomicBoolean();

  private final Arena arena = Arena.ofShared();
  private final MemorySegment exitContext = arena.allocate(WhvRunVpExitContext.LAYOUT);
  private final MemorySegment generalNames = names(GENERAL);
  private final MemorySegment generalValues = WhvRegisterValue.allocate(arena, GENERAL.length);
  private final MemorySegment specialNames = names(SPECIAL);
  private final MemorySegment specialValues = WhvRegisterValue.allocate(arena, SPECIAL.length);
  private final MemorySegment fpuNames = names(FPU);
  private final MemorySegment fpuValues = WhvRegisterValue.allocate(arena, FPU.length);
  private final MemorySegment fewNames = arena.allocate(JAVA_INT, 4);
  private final MemorySegment fewValues = WhvRegisterValue.allocate(arena, 4);
  private final MemorySegment translateResult = arena.allocate(8, 8);
  private final MemorySegment translatedGpa = arena.allocate(JAVA_LONG);

  private Pending pending = Pending.NONE;
  private VcpuExit lastExit;

  // The pending in or load: what its completion needs.
  private int pendingSize;
  private long pendingRip;
  private int pendingLength;
  private long pendingRax;
  private boolean pendingString;
  private boolean pendingRep;
  private long pendingRcx;
  private long pendingRdi;
  private long pendingEsBase;
  private long pendingAddressMask;
  private boolean pendingDown;
  private MmioInstruction pendingAccess;

  private WhpVcpu(WhpPartition partition, WhpHypervisor hypervisor) {
    this.partition = partition;
    this.platform = hypervisor.platform();
    this.handle = partition.handle();
    this.resource = "whp vCPU of partition '" + partition.label() + "'";
    this.fpuAccess = hypervisor.has(Capability.FPU_STATE);
    this.interrupter = new WhpInterrupter(platform, handle, VP_INDEX);
  }

  private MemorySegment names(int[] names) {
    MemorySegment segment = arena.allocate(JAVA_INT, names.length);
    for (int i = 0; i < names.length; i++) {
      segment.setAtIndex(JAVA_INT, i, names[i]);
    }
    return segment;
  }

  static WhpVcpu create(WhpPartition partition, WhpHypervisor hypervisor) {
    WhpErrors.check(
        hypervisor.platform().createVirtualProcessor(partition.handle(), VP_INDEX),
        "WHvCreateVirtualProcessor",
        "creating VP 0 of " + partition.describe());
    return new WhpVcpu(partition, hypervisor);
  }

  private void enter() {
    interrupter.enter(resource);
  }

  private void getRegisters(MemorySegment names, int count, MemorySegment values, String what) {
    WhpErrors.check(
        platform.getRegisters(handle, VP_INDEX, names, count, values),
        "WHvGetVirtualProcessorRegisters",
        resource + ": reading " + what);
  }

  private void setRegisters(MemorySegment names, int count, MemorySegment values, String what) {
    WhpErrors.check(
        platform.setRegisters(handle, VP_INDEX, names, count, values),
        "WHvSetVirtualProcessorRegisters",
        resource + ": writing " + what);
  }

  /** Sets up to four 64-bit registers in one call. */
  private void setFew(String what, int[] names, long[] values) {
    for (int i = 0; i < names.length; i++) {
      fewNames.setAtIndex(JAVA_INT, i, names[i]);
      WhvRegisterValue.setReg64(fewValues, i, values[i]);
    }
    setRegisters(fewNames, names.length, fewValues, what);
  }

  @Override
  public Registers registers() {
    enter();
    try {
      return readRegisters();
    } finally {
      interrupter.leave();
    }
  }

  private Registers readRegisters() {
    getRegisters(generalNames, GENERAL.length, generalValues, "general registers");
    long[] values = new long[GENERAL.length];
    for (int i = 0; i < values.length; i++) {
      values[i] = WhvRegisterValue.reg64(generalValues, i);
    }
    return Registers.fromArray(values);
  }

  @Override
  public void setRegisters(Registers registers) {
    Objects.requireNonNull(registers, "registers");
    enter();
    try {
      long[] values = registers.toArray();
      for (int i = 0; i < values.length; i++) {
        WhvRegisterValue.setReg64(generalValues, i, values[i]);
      }
      setRegisters(
          generalNames,
          GENERAL.length,
          generalValues,
          "general registers (RIP 0x%x, RFLAGS 0x%x)"
              .formatted(registers.rip(), registers.rflags()));
    } finally {
      interrupter.leave();
    }
  }

  @Override
  public SpecialRegisters specialRegisters() {
    enter();
    try {
      getRegisters(specialNames, SPECIAL.length, specialValues, "special registers");
      MemorySegment v = specialValues;
      return new SpecialRegisters(
          WhvRegisterValue.segment(v, 0),
          WhvRegisterValue.segment(v, 1),
          WhvRegisterValue.segment(v, 2),
          WhvRegisterValue.segment(v, 3),
          WhvRegisterValue.segment(v, 4),
          WhvRegisterValue.segment(v, 5),
          WhvRegisterValue.segment(v, 6),
          WhvRegisterValue.segment(v, 7),
          WhvRegisterValue.table(v, 8),
          WhvRegisterValue.table(v, 9),
          WhvRegisterValue.reg64(v, 10),
          WhvRegisterValue.reg64(v, 11),
          WhvRegisterValue.reg64(v, 12),
          WhvRegisterValue.reg64(v, 13),
          WhvRegisterValue.reg64(v, 14),
          WhvRegisterValue.reg64(v, 15),
          WhvRegisterValue.reg64(v, 16));
    } finally {
      interrupter.leave();
    }
  }

  @Override
  public void setSpecialRegisters(SpecialRegisters s) {
    Objects.requireNonNull(s, "specialRegisters");
    enter();
    try {
      MemorySegment v = specialValues;
      Segment[] segments = {s.cs(), s.ds(), s.es(), s.fs(), s.gs(), s.ss(), s.tr(), s.ldt()};
      for (int i = 0; i < segments.length; i++) {
        WhvRegisterValue.setSegment(v, i, segments[i]);
      }
      WhvRegisterValue.setTable(v, 8, s.gdt());
      WhvRegisterValue.setTable(v, 9, s.idt());
      long[] controls = {s.cr0(), s.cr2(), s.cr3(), s.cr4(), s.cr8(), s.efer(), s.apicBase()};
      for (int i = 0; i < controls.length; i++) {
        WhvRegisterValue.setReg64(v, 10 + i, controls[i]);
      }
      setRegisters(
          specialNames,
          SPECIAL.length,
          v,
          "special registers (CR0 0x%x, CR4 0x%x, EFER 0x%x, CS 0x%x)"
              .formatted(s.cr0(), s.cr4(), s.efer(), s.cs().selector()));
    } finally {
      interrupter.leave();
    }
  }

  @Override
  public FpuState fpuState() {
    requireFpu();
    enter();
    try {
      getRegisters(fpuNames, FPU.length, fpuValues, "x87/SSE registers");
      byte[] xmm = new byte[FpuState.XMM_BYTES];
      MemorySegment.copy(fpuValues, JAVA_BYTE, 0, xmm, 0, FpuState.XMM_BYTES);
      byte[] x87 = new byte[FpuState.X87_BYTES];
      for (int i = 0; i < 8; i++) {
        MemorySegment.copy(fpuValues, JAVA_BYTE, (16 + i) * 16L, x87, i * 16, 10);
      }
      long fp = 24 * 16L;
      long xmmControl = 25 * 16L;
      return new FpuState(
          x87,
          Short.toUnsignedInt(fpuValues.get(JAVA_SHORT, fp)),
          Short.toUnsignedInt(fpuValues.get(JAVA_SHORT, fp + 2)),
          Byte.toUnsignedInt(fpuValues.get(JAVA_BYTE, fp + 4)),
          Short.toUnsignedInt(fpuValues.get(JAVA_SHORT, fp + 6)) & 0x7FF,
          fpuValues.get(JAVA_LONG, fp + 8),
          fpuValues.get(JAVA_LONG, xmmControl),
          xmm,
          fpuValues.get(JAVA_INT, xmmControl + 8));
    } finally {
      interrupter.leave();
    }
  }

  @Override
  public void setFpuState(FpuState state) {
    Objects.requireNonNull(state, "fpuState");
    requireFpu();
    enter();
    try {
      fpuValues.fill((byte) 0);
      MemorySegment.copy(state.xmm(), 0, fpuValues, JAVA_BYTE, 0, FpuState.XMM_BYTES);
      byte[] x87 = state.x87();
      for (int i = 0; i < 8; i++) {
        MemorySegment.copy(x87, i * 16, fpuValues, JAVA_BYTE, (16 + i) * 16L, 10);
      }
      long fp = 24 * 16L;
      fpuValues.set(JAVA_SHORT, fp, (short) state.fcw());
      fpuValues.set(JAVA_SHORT, fp + 2, (short) state.fsw());
      fpuValues.set(JAVA_BYTE, fp + 4, (byte) state.ftw());
      fpuValues.set(JAVA_SHORT, fp + 6, (short) state.lastOpcode());
      fpuValues.set(JAVA_LONG, fp + 8, state.lastInstructionPointer());
      long xmmControl = 25 * 16L;
      fpuValues.set(JAVA_LONG, xmmControl, state.lastDataPointer());
      fpuValues.set(JAVA_INT, xmmControl + 8, state.mxcsr());
      fpuValues.set(JAVA_INT, xmmControl + 12, 0xFFFF);
      setRegisters(
          fpuNames,
          FPU.length,
          fpuValues,
          "x87/SSE registers (FCW 0x%x, MXCSR 0x%x)".formatted(state.fcw(), state.mxcsr()));
    } finally {
      interrupter.leave();
    }
  }

  private void requireFpu() {
    if (!fpuAccess) {
      throw new MissingCapabilityException(
          WhpErrors.BACKEND, Capability.FPU_STATE, "reading or writing x87/SSE state");
    }
  }

  @Override
  public VcpuExit run() {
    enter();
    try {
      if (pending != Pending.NONE) {
        throw new IllegalStateException(
            "the last exit, %s, is not answered; call %s before running again"
                .formatted(
                    lastExit, pending == Pending.IO_IN ? "completeIoIn" : "completeMmioRead"));
      }
      while (true) {
        if (interrupter.consumeOrStartRunning()) {
          return exit(WhpExits.CANCELLED);
        }
        int hr;
        try {
          hr = platform.runVirtualProcessor(handle, VP_INDEX, exitContext);
        } finally {
          interrupter.stoppedRunning();
        }
        WhpErrors.check(hr, "WHvRunVirtualProcessor", resource);
        VcpuExit exit = decode();
        if (exit != null) {
          return exit(exit);
        }
      }
    } finally {
      interrupter.leave();
    }
  }

  private VcpuExit exit(VcpuExit exit) {
    lastExit = exit;
    return exit;
  }

  /** {@return the exit in {@link #exitContext}, or null when the guest should run on} */
  private VcpuExit decode() {
    MemorySegment c = exitContext;
    int reason = WhvRunVpExitContext.exitReason(c);
    return switch (reason) {
      case WhvConstants.WHvRunVpExitReasonX64IoPortAccess -> portIo(c);
      case WhvConstants.WHvRunVpExitReasonMemoryAccess -> memoryAccess(c);
      case WhvConstants.WHvRunVpExitReasonX64Halt -> WhpExits.HALT;
      case WhvConstants.WHvRunVpExitReasonUnrecoverableException -> WhpExits.SHUTDOWN;
      case WhvConstants.WHvRunVpExitReasonCanceled ->
          interrupter.consume() ? WhpExits.CANCELLED : null;
      case WhvConstants.WHvRunVpExitReasonInvalidVpRegisterValue ->
          new VcpuExit.FailEntry(
              reason,
              "WHvRunVpExitReasonInvalidVpRegisterValue: the hypervisor refused the register"
                  + " state at RIP 0x%x".formatted(WhvRunVpExitContext.rip(c)));
      case WhvConstants.WHvRunVpExitReasonUnsupportedFeature ->
          new VcpuExit.InternalError(
              WhvRunVpExitContext.featureCode(c),
              "WHvRunVpExitReasonUnsupportedFeature: feature code %d, parameter 0x%x, at RIP 0x%x"
                  .formatted(
                      WhvRunVpExitContext.featureCode(c),
                      WhvRunVpExitContext.featureParameter(c),
                      WhvRunVpExitContext.rip(c)));
      default ->
          new VcpuExit.Unknown(
              Integer.toUnsignedLong(reason),
              WhpExits.name(reason) + " at RIP 0x%x".formatted(WhvRunVpExitContext.rip(c)));
    };
  }

  private static long sizeMask(int size) {
    return size == 8 ? -1L : (1L << (size * 8)) - 1;
  }

  /** {@return the address-size mask of a string instruction in the exit's mode} */
  private static long addressMask(MemorySegment c, byte[] bytes) {
    int state = WhvRunVpExitContext.executionState(c);
    Segment cs = WhvRunVpExitContext.cs(c);
    int bits;
    if ((state & WhvConstants.WHV_X64_VP_EXECUTION_STATE_EFER_LMA) != 0 && cs.longMode()) {
      bits = 64;
    } else if ((state & WhvConstants.WHV_X64_VP_EXECUTION_STATE_CR0_PE) != 0 && cs.defaultSize()) {
      bits = 32;
    } else {
      bits = 16;
    }
    for (byte b : bytes) {
      int x = b & 0xFF;
      if (x == 0x67) {
        bits = bits == 64 ? 32 : bits == 32 ? 16 : 32;
      } else if (!isPrefix(x)) {
        break;
      }
    }
    return bits == 64 ? -1L : (1L << bits) - 1;
  }

  private static boolean isPrefix(int x) {
    return x == 0x66
        || x == 0x67
        || x == 0xF2
        || x == 0xF3
        || x == 0xF0
        || x == 0x26
        || x == 0x2E
        || x == 0x36
        || x == 0x3E
        || x == 0x64
        || x == 0x65
        || (x >= 0x40 && x <= 0x4F);
  }

  private VcpuExit portIo(MemorySegment c) {
    int info = WhvRunVpExitContext.ioAccessInfo(c);
    int size =
        (info & WhvConstants.WHV_X64_IO_PORT_ACCESS_INFO_SIZE_MASK)
            >>> WhvConstants.WHV_X64_IO_PORT_ACCESS_INFO_SIZE_SHIFT;
    int port = WhvRunVpExitContext.ioPort(c);
    int length = WhvRunVpExitContext.instructionLength(c);
    long rip = WhvRunVpExitContext.rip(c);
    boolean out = (info & WhvConstants.WHV_X64_IO_PORT_ACCESS_INFO_IS_WRITE) != 0;
    boolean string = (info & WhvConstants.WHV_X64_IO_PORT_ACCESS_INFO_STRING_OP) != 0;
    boolean rep = (info & WhvConstants.WHV_X64_IO_PORT_ACCESS_INFO_REP_PREFIX) != 0;
    if ((size != 1 && size != 2 && size != 4) || length == 0) {
      return new VcpuExit.InternalError(
          0,
          "WHvRunVpExitReasonX64IoPortAccess that Glint cannot complete: port 0x%x, access size %d, instruction length %d at RIP 0x%x"
              .formatted(port, size, length, rip));
    }
    if (!string) {
      long rax = WhvRunVpExitContext.ioRax(c);
      if (out) {
        setFew(
            "RIP past the out",
            new int[] {WhvConstants.WHvX64RegisterRip},
            new long[] {rip + length});
        return new VcpuExit.IoOut(port, size, rax & sizeMask(size));
      }
      pending(Pending.IO_IN, size, rip, length);
      pendingRax = rax;
      pendingString = false;
      return new VcpuExit.IoIn(port, size);
    }
    long mask = addressMask(c, WhvRunVpExitContext.ioInstructionBytes(c));
    long rcx = WhvRunVpExitContext.ioRcx(c);
    boolean down = (WhvRunVpExitContext.rflags(c) & RFLAGS_DF) != 0;
    long step = down ? -size : size;
    if (rep && (rcx & mask) == 0) {
      // Nothing to do: a rep with a zero count only moves on.
      setFew(
          "RIP past the rep",
          new int[] {WhvConstants.WHvX64RegisterRip},
          new long[] {rip + length});
      return null;
    }
    if (out) {
      long rsi = WhvRunVpExitContext.ioRsi(c);
      long linear = WhvRunVpExitContext.ioDs(c).base() + (rsi & mask);
      long data = 0;
      for (int i = 0; i < size; i++) {
        MemorySegment b = guestByte(linear + i, false);
        if (b == null) {
          return unreachable("outs", linear + i, rip);
        }
        data |= (b.get(JAVA_BYTE, 0) & 0xFFL) << (8 * i);
      }
      long newRcx = rep ? ((rcx & mask) - 1) | (rcx & ~mask) : rcx;
      boolean done = !rep || (newRcx & mask) == 0;
      setFew(
          "RSI, RCX and RIP after an outs item",
          new int[] {
            WhvConstants.WHvX64RegisterRsi,
            WhvConstants.WHvX64RegisterRcx,
            WhvConstants.WHvX64RegisterRip
          },
          new long[] {((rsi + step) & mask) | (rsi & ~mask), newRcx, done ? rip + length : rip});
      return new VcpuExit.IoOut(port, size, data);
    }
    pending(Pending.IO_IN, size, rip, length);
    pendingString = true;
    pendingRep = rep;
    pendingRcx = rcx;
    pendingRdi = WhvRunVpExitContext.ioRdi(c);
    pendingEsBase = WhvRunVpExitContext.ioEs(c).base();
    pendingAddressMask = mask;
    pendingDown = down;
    return new VcpuExit.IoIn(port, size);
  }

  private VcpuExit unreachable(String what, long linear, long rip) {
    return new VcpuExit.InternalError(
        0,
        "%s at RIP 0x%x touches linear address 0x%x, which no mapping backs"
            .formatted(what, rip, linear));
  }

  private void pending(Pending kind, int size, long rip, int length) {
    pending = kind;
    pendingSize = size;
    pendingRip = rip;
    pendingLength = length;
  }

  /** {@return the host byte behind guest linear address {@code linear}, or null} */
  private MemorySegment guestByte(long linear, boolean write) {
    int hr =
        platform.translateGva(
            handle,
            VP_INDEX,
            linear,
            (write
                    ? WhvConstants.WHvTranslateGvaFlagValidateWrite
                    : WhvConstants.WHvTranslateGvaFlagValidateRead)
                | WhvConstants.WHvTranslateGvaFlagPrivilegeExempt,
            translateResult,
            translatedGpa);
    WhpErrors.check(hr, "WHvTranslateGva", resource + ": GVA 0x%x".formatted(linear));
    if (translateResult.get(JAVA_INT, 0) != WhvConstants.WHvTranslateGvaResultSuccess) {
      return null;
    }
    return partition.hostSlice(translatedGpa.get(JAVA_LONG, 0), 1);
  }

  private VcpuExit memoryAccess(MemorySegment c) {
    int info = WhvRunVpExitContext.memoryAccessInfo(c);
    int type = info & WhvConstants.WHV_MEMORY_ACCESS_INFO_TYPE_MASK;
    long gpa = WhvRunVpExitContext.memoryGpa(c);
    long rip = WhvRunVpExitContext.rip(c);
    byte[] bytes = WhvRunVpExitContext.memoryInstructionBytes(c);
    if (type == WhvConstants.WHvMemoryAccessExecute) {
      return new VcpuExit.InternalError(
          type,
          "instruction fetch from GPA 0x%x, which no executable mapping backs (RIP 0x%x)"
              .formatted(gpa, rip));
    }
    MmioInstruction access;
    try {
      access = MmioInstruction.decode(bytes, 0, bytes.length, mode(c));
    } catch (UnsupportedMmioInstructionException e) {
      return new VcpuExit.InternalError(
          0, "memory access at GPA 0x%x from RIP 0x%x: %s".formatted(gpa, rip, e.getMessage()));
    }
    boolean write = type == WhvConstants.WHvMemoryAccessWrite;
    if (access.write() != write) {
      return new VcpuExit.InternalError(
          0,
          "the hypervisor reports a %s at GPA 0x%x but the instruction at RIP 0x%x (%s) %s"
              .formatted(
                  write ? "write" : "read",
                  gpa,
                  rip,
                  HexFormat.ofDelimiter(" ").formatHex(bytes),
                  access.write() ? "stores" : "loads"));
    }
    if (write) {
      getRegisters(generalNames, GENERAL.length, generalValues, "general registers");
      long data =
          access.valueToWrite(r -> WhvRegisterValue.reg64(generalValues, generalIndex(r)))
              & sizeMask(access.size());
      setFew(
          "RIP past the store",
          new int[] {WhvConstants.WHvX64RegisterRip},
          new long[] {rip + access.length()});
      return new VcpuExit.MmioWrite(gpa, access.size(), data);
    }
    pending(Pending.MMIO_READ, access.size(), rip, access.length());
    pendingAccess = access;
    return new VcpuExit.MmioRead(gpa, access.size());
  }

  /** {@return the index in {@link #GENERAL} of the register with x86 encoding {@code encoding}} */
  private static int generalIndex(int encoding) {
    int name = WhvConstants.gprName(encoding);
    for (int i = 0; i < GENERAL.length; i++) {
      if (GENERAL[i] == name) {
        return i;
      }
    }
    throw new AssertionError(encoding);
  }

  private static CpuMode mode(MemorySegment c) {
    int state = WhvRunVpExitContext.executionState(c);
    Segment cs = WhvRunVpExitContext.cs(c);
    if ((state & WhvConstants.WHV_X64_VP_EXECUTION_STATE_EFER_LMA) != 0 && cs.longMode()) {
      return CpuMode.LONG_64;
    }
    if ((state & WhvConstants.WHV_X64_VP_EXECUTION_STATE_CR0_PE) != 0 && cs.defaultSize()) {
      return CpuMode.PROTECTED_32;
    }
    return CpuMode.REAL_16;
  }

  @Override
  public void completeIoIn(long value) {
    enter();
    try {
      if (pending != Pending.IO_IN) {
        throw notPending("IoIn");
      }
      completeIn(value);
    } finally {
      interrupter.leave();
    }
  }

  /** Writes what an {@code in} item reads, and moves the guest on. */
  private void completeIn(long value) {
    int size = pendingSize;
    if (!pendingString) {
      long rax =
          size == 4
              ? value & 0xFFFF_FFFFL
              : (pendingRax & ~sizeMask(size)) | (value & sizeMask(size));
      setFew(
          "RAX and RIP after an in",
          new int[] {WhvConstants.WHvX64RegisterRax, WhvConstants.WHvX64RegisterRip},
          new long[] {rax, pendingRip + pendingLength});
      pending = Pending.NONE;
      return;
    }
    long mask = pendingAddressMask;
    long linear = pendingEsBase + (pendingRdi & mask);
    for (int i = 0; i < size; i++) {
      MemorySegment b = guestByte(linear + i, true);
      if (b == null) {
        pending = Pending.NONE;
        throw WhpErrors.fault(
            "WHvTranslateGva",
            resource
                + ": the ins at RIP 0x%x writes linear address 0x%x, which no mapping backs"
                    .formatted(pendingRip, linear + i));
      }
      b.set(JAVA_BYTE, 0, (byte) (value >>> (8 * i)));
    }
    long step = pendingDown ? -size : size;
    long rdi = ((pendingRdi + step) & mask) | (pendingRdi & ~mask);
    long rcx = pendingRep ? ((pendingRcx & mask) - 1) | (pendingRcx & ~mask) : pendingRcx;
    boolean done = !pendingRep || (rcx & mask) == 0;
    setFew(
        "RDI, RCX and RIP after an ins item",
        new int[] {
          WhvConstants.WHvX64RegisterRdi,
          WhvConstants.WHvX64RegisterRcx,
          WhvConstants.WHvX64RegisterRip
        },
        new long[] {rdi, rcx, done ? pendingRip + pendingLength : pendingRip});
    pendingRdi = rdi;
    pendingRcx = rcx;
    pending = Pending.NONE;
  }

  @Override
  public void completeMmioRead(long value) {
    enter();
    try {
      if (pending != Pending.MMIO_READ) {
        throw notPending("MmioRead");
      }
      completeLoad(value);
    } finally {
      interrupter.leave();
    }
  }

  private void completeLoad(long value) {
    MmioInstruction access = pendingAccess;
    int register = access.destinationRegister();
    int name = WhvConstants.gprName(register);
    fewNames.setAtIndex(JAVA_INT, 0, name);
    getRegisters(fewNames, 1, fewValues, "the load's destination register");
    long old = WhvRegisterValue.reg64(fewValues, 0);
    long updated = access.registerAfterRead(old, value & sizeMask(access.size()));
    setFew(
        "the loaded register and RIP",
        new int[] {name, WhvConstants.WHvX64RegisterRip},
        new long[] {updated, pendingRip + pendingLength});
    pending = Pending.NONE;
    pendingAccess = null;
  }

  private IllegalStateException notPending(String expected) {
    return new IllegalStateException(
        lastExit == null
            ? "the vCPU has not run yet; there is no " + expected + " to answer"
            : "the last exit was %s, not an unanswered %s".formatted(lastExit, expected));
  }

  /**
   * {@inheritDoc}
   *
   * <p>Outs and stores are completed before {@code run()} returns them, so only an unanswered
   * {@code in} or load is left: it completes as if it read zero; a {@code rep ins} completes every
   * item left with zeros (at most {@value #MAX_SETTLE_ITEMS}).
   */
  @Override
  public void settle() {
    enter();
    try {
      if (pending == Pending.MMIO_READ) {
        completeLoad(0);
      } else if (pending == Pending.IO_IN) {
        if (pendingString && pendingRep) {
          long left = pendingRcx & pendingAddressMask;
          if (left > MAX_SETTLE_ITEMS) {
            throw new IllegalStateException(
                resource
                    + ": the rep ins at RIP 0x%x has %d items left, more than settle completes (%d)"
                        .formatted(pendingRip, left, MAX_SETTLE_ITEMS));
          }
          for (long i = 0; i < left; i++) {
            pending = Pending.IO_IN;
            completeIn(0);
          }
        } else {
          completeIn(0);
        }
      }
    } finally {
      interrupter.leave();
    }
  }

  @Override
  public VcpuInterrupter interrupter() {
    return interrupter;
  }

  /**
   * Frees the VP. From another thread during {@code run()}, cancels the run and waits for it to
   * return; if it does not within 10 seconds, throws and leaves the VP in place.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    if (!interrupter.closeAndAwaitIdle()) {
      throw new IllegalStateException(
          resource + " is still running 10 s after close(); the VP is left in place");
    }
    WhpErrors.released(
        platform.deleteVirtualProcessor(handle, VP_INDEX), "WHvDeleteVirtualProcessor", resource);
    arena.close();
  }

  @Override
  public String toString() {
    return String.format(
        Locale.ENGLISH,
        "WhpVcpu[partition '%s'%s]",
        partition.label(),
        closed.get() ? ", closed" : "");
  }
}
