package dev.glint.hv.mshv.internal;

import dev.glint.hv.Capability;
import dev.glint.hv.FpuState;
import dev.glint.hv.MissingCapabilityException;
import dev.glint.hv.Registers;
import dev.glint.hv.Segment;
import dev.glint.hv.SpecialRegisters;
import dev.glint.hv.Vcpu;
import dev.glint.hv.VcpuExit;
import dev.glint.hv.VcpuInterrupter;
import dev.glint.hv.mshv.internal.sys.Errno;
import dev.glint.hv.mshv.internal.sys.HvMessage;
import dev.glint.hv.mshv.internal.sys.HvRegisters;
import dev.glint.hv.mshv.internal.sys.Libc;
import dev.glint.hv.mshv.internal.sys.Mshv;
import dev.glint.x86.decoder.CpuMode;
import dev.glint.x86.decoder.MmioInstruction;
import dev.glint.x86.decoder.UnsupportedMmioInstructionException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HexFormat;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * VP 0 of an {@link MshvPartition}: a VP fd, the 256-byte message buffer {@code MSHV_RUN_VP} fills,
 * and the buffers of its register hypercalls.
 *
 * <p><b>The VMM completes intercepts.</b> After an intercept the Microsoft Hypervisor leaves the VP
 * at the intercepted instruction with nothing done. This class completes each exit itself, through
 * {@code HvCallSetVpRegisters}: after {@code out} it advances RIP by the message's instruction
 * length at once; after {@code in} it writes RAX (merged by size) and RIP when {@link
 * #completeIoIn} answers. For a memory intercept ({@code HVMSG_UNMAPPED_GPA}, or {@code
 * HVMSG_GPA_INTERCEPT} for a write to read-only memory) it decodes the instruction bytes the
 * message carries with the shared decoder ({@link MmioInstruction}), in the mode the message's
 * execution state and code segment give: a store reads the general registers to find the value
 * written and advances RIP; a load waits for {@link #completeMmioRead}, which writes the
 * destination register (merged, zero- or sign-extended as the instruction says) and RIP. An
 * instruction the decoder does not support becomes an {@link VcpuExit.InternalError} naming its
 * bytes; the guest is not resumed past it. So the state is always settled except while an {@code
 * in} or a load waits for its answer, which {@link #settle()} answers with zero.
 *
 * <p><b>Threading:</b> confined to one thread at a time (checked: overlapping calls throw); see
 * {@link MshvKicker} for the interrupt handle and for close during a run.
 */
final class MshvVcpu implements Vcpu {
  private enum Pending {
    NONE,
    IO_IN,
    STRING_IN,
    MMIO_READ
  }

  /**
   * The string I/O instruction the last message described: its registers before this item, the
   * address size, and where RIP goes when it is done.
   */
  private record StringIo(
      boolean in,
      int size,
      boolean rep,
      long mask,
      int step,
      long segmentBase,
      long rcx,
      long rsi,
      long rdi,
      long rip,
      long nextRip,
      SpecialRegisters special) {}

  /** The most items {@link #settle()} completes with zeros before giving up on a string in. */
  private static final long MAX_SETTLE_ITEMS = 1 << 20;

  private static final int VP_INDEX = 0;
  private static final int MAX_INSTRUCTION_LENGTH = 15;

  private final MshvPartition partition;
  private final int fd;
  private final Arena arena;
  private final MemorySegment message;
  private final HvRegisters calls;
  private final MshvKicker kicker;
  private final String resource;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final int[] errno = new int[1];

  private Pending pending = Pending.NONE;
  private VcpuExit lastExit;
  private int pendingSize;
  private long pendingNextRip;
  private long pendingRax;
  private MmioInstruction pendingLoad;
  private StringIo pendingString;

  private MshvVcpu(MshvPartition partition, int fd, Arena arena, MshvHost host) {
    this.partition = partition;
    this.fd = fd;
    this.arena = arena;
    this.message = arena.allocate(HvMessage.MESSAGE);
    this.calls = new HvRegisters(fd, VP_INDEX, arena);
    this.resource = "mshv VP of partition '" + partition.label() + "'";
    this.kicker = new MshvKicker(host.signal(), host.cancelUnavailableReason().orElse("available"));
  }

  /** Creates VP 0; on failure, frees what was made. */
  static MshvVcpu create(MshvPartition partition) {
    int fd = Mshv.createVp(partition.fd(), VP_INDEX);
    if (fd < 0) {
      throw MshvErrors.failure(
          "MSHV_CREATE_VP", -fd, "creating VP 0 of partition '" + partition.label() + "'");
    }
    Arena arena = Arena.ofShared();
    try {
      return new MshvVcpu(partition, fd, arena, partition.hypervisor().host());
    } catch (RuntimeException | Error e) {
      arena.close();
      Libc.close(fd);
      throw e;
    }
  }

  private String describe() {
    return resource;
  }

  private void enter() {
    kicker.enter(0, describe());
  }

  @Override
  public Registers registers() {
    enter();
    try {
      return readGeneral();
    } finally {
      kicker.leave();
    }
  }

  private Registers readGeneral() {
    Registers registers = calls.readGeneral(errno);
    if (registers == null) {
      throw hypercallFailure("HvCallGetVpRegisters", "reading the general registers");
    }
    return registers;
  }

  @Override
  public void setRegisters(Registers registers) {
    Objects.requireNonNull(registers, "registers");
    enter();
    try {
      settleNow();
      int result = calls.writeGeneral(registers);
      if (result < 0) {
        errno[0] = -result;
        throw hypercallFailure(
            "HvCallSetVpRegisters",
            "RIP 0x%x, RFLAGS 0x%x".formatted(registers.rip(), registers.rflags()));
      }
    } finally {
      kicker.leave();
    }
  }

  @Override
  public SpecialRegisters specialRegisters() {
    enter();
    try {
      SpecialRegisters special = calls.readSpecial(errno);
      if (special == null) {
        throw hypercallFailure("HvCallGetVpRegisters", "reading the special registers");
      }
      return special;
    } finally {
      kicker.leave();
    }
  }

  @Override
  public void setSpecialRegisters(SpecialRegisters specialRegisters) {
    Objects.requireNonNull(specialRegisters, "specialRegisters");
    enter();
    try {
      settleNow();
      int result = calls.writeSpecial(specialRegisters);
      if (result < 0) {
        errno[0] = -result;
        throw hypercallFailure(
            "HvCallSetVpRegisters",
            "CR0 0x%x, CR4 0x%x, EFER 0x%x, CS 0x%x"
                .formatted(
                    specialRegisters.cr0(),
                    specialRegisters.cr4(),
                    specialRegisters.efer(),
                    specialRegisters.cs().selector()));
      }
    } finally {
      kicker.leave();
    }
  }

  @Override
  public FpuState fpuState() {
    throw new MissingCapabilityException(
        MshvErrors.BACKEND, Capability.FPU_STATE, "reading x87/SSE state");
  }

  @Override
  public void setFpuState(FpuState fpuState) {
    Objects.requireNonNull(fpuState, "fpuState");
    throw new MissingCapabilityException(
        MshvErrors.BACKEND, Capability.FPU_STATE, "writing x87/SSE state");
  }

  private RuntimeException hypercallFailure(String hypercall, String detail) {
    return MshvErrors.hypercall(hypercall, errno[0], calls, describe() + ": " + detail);
  }

  /** Sets RIP alone. */
  private void setRip(long rip) {
    calls.put(0, HvRegisters.HV_X64_REGISTER_RIP, rip);
    int result = calls.set(1);
    if (result < 0) {
      errno[0] = -result;
      throw hypercallFailure("HvCallSetVpRegisters", "advancing RIP to 0x%x".formatted(rip));
    }
  }

  /** Sets one general register (x86 encoding order) and RIP. */
  private void setRegisterAndRip(int encoding, long value, long rip) {
    calls.put(0, HvRegisters.generalRegisterName(encoding), value);
    calls.put(1, HvRegisters.HV_X64_REGISTER_RIP, rip);
    int result = calls.set(2);
    if (result < 0) {
      errno[0] = -result;
      throw hypercallFailure(
          "HvCallSetVpRegisters",
          "completing %s: register %d = 0x%x, RIP 0x%x".formatted(lastExit, encoding, value, rip));
    }
  }

  @Override
  public VcpuExit run() {
    kicker.enter(Libc.currentTid(), describe());
    try {
      if (pending != Pending.NONE) {
        throw new IllegalStateException(
            "the last exit, %s, is not answered; call %s before running again"
                .formatted(
                    lastExit, pending == Pending.MMIO_READ ? "completeMmioRead" : "completeIoIn"));
      }
      while (true) {
        if (kicker.consumeInterrupt()) {
          return exit(MshvExits.CANCELLED);
        }
        int result = Mshv.runVp(fd, message);
        if (result == -Errno.EINTR) {
          if (kicker.consumeInterrupt()) {
            return exit(MshvExits.CANCELLED);
          }
          continue; // a signal that was not ours: run on
        }
        if (result < 0) {
          throw MshvErrors.failure("MSHV_RUN_VP", -result, describe());
        }
        VcpuExit exit = decode();
        if (exit != null) {
          return exit(exit);
        }
        // A rep string I/O with nothing left to do: completed, the guest runs on.
      }
    } finally {
      kicker.leave();
    }
  }

  private VcpuExit exit(VcpuExit exit) {
    lastExit = exit;
    return exit;
  }

  /** Turns the message into an exit, completing what needs no answer. */
  private VcpuExit decode() {
    int type = HvMessage.type(message);
    return switch (type) {
      case HvMessage.HVMSG_X64_IO_PORT_INTERCEPT -> portIo();
      case HvMessage.HVMSG_UNMAPPED_GPA, HvMessage.HVMSG_GPA_INTERCEPT -> memory(type);
      case HvMessage.HVMSG_X64_HALT -> MshvExits.HALT;
      case HvMessage.HVMSG_UNRECOVERABLE_EXCEPTION -> MshvExits.SHUTDOWN;
      case HvMessage.HVMSG_INVALID_VP_REGISTER_VALUE ->
          new VcpuExit.FailEntry(
              Integer.toUnsignedLong(type),
              "HVMSG_INVALID_VP_REGISTER_VALUE at RIP 0x%x: the hypervisor refused the VP's registers"
                  .formatted(HvMessage.rip(message)));
      case HvMessage.HVMSG_UNSUPPORTED_FEATURE ->
          new VcpuExit.InternalError(
              Integer.toUnsignedLong(type),
              "HVMSG_UNSUPPORTED_FEATURE at RIP 0x%x".formatted(HvMessage.rip(message)));
      default ->
          new VcpuExit.Unknown(
              Integer.toUnsignedLong(type),
              HvMessage.typeName(type) + " at RIP 0x%x".formatted(HvMessage.rip(message)));
    };
  }

  private int instructionLength() {
    int length = HvMessage.instructionLength(message);
    return length >= 1 && length <= MAX_INSTRUCTION_LENGTH ? length : 0;
  }

  private VcpuExit portIo() {
    int port = HvMessage.port(message);
    int info = HvMessage.ioAccessInfo(message);
    int size = info & 0x7;
    int length = instructionLength();
    long rip = HvMessage.rip(message);
    if ((size != 1 && size != 2 && size != 4) || length == 0) {
      return new VcpuExit.InternalError(
          Integer.toUnsignedLong(HvMessage.HVMSG_X64_IO_PORT_INTERCEPT),
          "HVMSG_X64_IO_PORT_INTERCEPT that Glint cannot decode: port 0x%x, access info 0x%x, instruction length %d"
              .formatted(port, info, HvMessage.instructionLength(message)));
    }
    long next = nextRip(rip, length);
    if ((info & HvMessage.HV_IO_ACCESS_STRING_OP) != 0) {
      return stringIo(port, size, (info & HvMessage.HV_IO_ACCESS_REP_PREFIX) != 0, rip, next);
    }
    long rax = HvMessage.ioRax(message);
    if (HvMessage.accessType(message) == HvMessage.HV_INTERCEPT_ACCESS_WRITE) {
      setRip(next);
      return new VcpuExit.IoOut(port, size, rax & mask(size));
    }
    pending = Pending.IO_IN;
    pendingSize = size;
    pendingRax = rax;
    pendingNextRip = next;
    return new VcpuExit.IoIn(port, size);
  }

  /**
   * One item of {@code ins}/{@code outs}: the VMM moves the data between the port and guest memory
   * (through the guest's page tables, {@link MshvGuestAccess}), steps RSI or RDI, counts RCX down
   * for {@code rep}, and leaves RIP on the instruction while items are left, so the next run
   * intercepts the next item. {@return the exit, or null when a {@code rep} has nothing to do}
   */
  private VcpuExit stringIo(int port, int size, boolean rep, long rip, long next) {
    byte[] bytes = HvMessage.ioInstructionBytes(message);
    CpuMode mode = mode();
    int addressSize =
        switch (mode) {
          case LONG_64 -> 8;
          case PROTECTED_32 -> 4;
          case REAL_16 -> 2;
        };
    int segmentPrefix = 0;
    for (byte b : bytes) {
      int prefix = Byte.toUnsignedInt(b);
      if (prefix == 0x67) {
        addressSize = mode == CpuMode.LONG_64 ? 4 : mode == CpuMode.PROTECTED_32 ? 2 : 4;
      } else if (prefix == 0x26
          || prefix == 0x2E
          || prefix == 0x36
          || prefix == 0x3E
          || prefix == 0x64
          || prefix == 0x65) {
        segmentPrefix = prefix;
      } else if (prefix != 0x66 && prefix != 0xF2 && prefix != 0xF3 && prefix != 0xF0) {
        break;
      }
    }
    boolean in = HvMessage.accessType(message) == HvMessage.HV_INTERCEPT_ACCESS_READ;
    long mask = addressSize == 8 ? -1L : (1L << (8 * addressSize)) - 1;
    int step = (HvMessage.rflags(message) & (1L << 10)) != 0 ? -size : size;
    SpecialRegisters special = specialRegistersNow();
    // ins always stores through ES; outs reads through DS unless a prefix names another segment.
    Segment segment =
        in
            ? special.es()
            : switch (segmentPrefix) {
              case 0x26 -> special.es();
              case 0x2E -> special.cs();
              case 0x36 -> special.ss();
              case 0x64 -> special.fs();
              case 0x65 -> special.gs();
              default -> special.ds();
            };
    long base =
        mode == CpuMode.LONG_64 && (in || (segmentPrefix != 0x64 && segmentPrefix != 0x65))
            ? 0 // long mode ignores the bases of all segments but FS and GS
            : segment.base();
    StringIo string =
        new StringIo(
            in,
            size,
            rep,
            mask,
            step,
            base,
            HvMessage.ioRcx(message),
            HvMessage.ioRsi(message),
            HvMessage.ioRdi(message),
            rip,
            next,
            special);
    if (rep && (string.rcx() & mask) == 0) {
      setRip(next);
      return null;
    }
    if (in) {
      pending = Pending.STRING_IN;
      pendingString = string;
      return new VcpuExit.IoIn(port, size);
    }
    long source = base + (string.rsi() & mask);
    Long data = MshvGuestAccess.read(partition, special, source, size);
    if (data == null) {
      return new VcpuExit.InternalError(
          Integer.toUnsignedLong(HvMessage.HVMSG_X64_IO_PORT_INTERCEPT),
          "outs at RIP 0x%x reads linear address 0x%x, which no mapping backs through the guest's page tables"
              .formatted(rip, source));
    }
    long rcx = rep ? merge(string.rcx(), string.rcx() - 1, mask) : string.rcx();
    finishStringItem(
        6, merge(string.rsi(), string.rsi() + step, mask), rcx, string.rip(), string, 1);
    return new VcpuExit.IoOut(port, size, data);
  }

  private static long merge(long old, long value, long mask) {
    return (old & ~mask) | (value & mask);
  }

  /**
   * Writes the index register ({@code indexEncoding}: 6 RSI, 7 RDI), RCX and RIP after {@code
   * items} items: RIP stays on the instruction while a {@code rep} has items left.
   */
  private void finishStringItem(
      int indexEncoding, long index, long rcx, long rip, StringIo string, long items) {
    boolean done = !string.rep() || (rcx & string.mask()) == 0;
    calls.put(0, HvRegisters.generalRegisterName(indexEncoding), index);
    calls.put(1, HvRegisters.generalRegisterName(1), rcx);
    calls.put(2, HvRegisters.HV_X64_REGISTER_RIP, done ? string.nextRip() : rip);
    int result = calls.set(3);
    if (result < 0) {
      errno[0] = -result;
      throw hypercallFailure(
          "HvCallSetVpRegisters",
          "completing %d string I/O item(s) at RIP 0x%x".formatted(items, rip));
    }
  }

  /**
   * Answers the pending string {@code in} item with {@code value}; when settling, the rest with 0.
   */
  private void answerStringIn(long value, boolean settling) {
    StringIo string = pendingString;
    long rdi = string.rdi();
    long rcx = string.rcx();
    long items = 0;
    do {
      long target = string.segmentBase() + (rdi & string.mask());
      if (!MshvGuestAccess.write(partition, string.special(), target, string.size(), value)) {
        pending = Pending.NONE;
        pendingString = null;
        throw MshvErrors.fault(
            "HVMSG_X64_IO_PORT_INTERCEPT",
            "%s: ins at RIP 0x%x stores to linear address 0x%x, which no writable mapping backs through the guest's page tables"
                .formatted(describe(), string.rip(), target));
      }
      items++;
      rdi = merge(rdi, rdi + string.step(), string.mask());
      rcx = string.rep() ? merge(rcx, rcx - 1, string.mask()) : rcx;
      value = 0;
      if (settling && items > MAX_SETTLE_ITEMS) {
        throw new IllegalStateException(
            describe()
                + ": the guest's rep ins still needs %d items; the vCPU cannot be settled"
                    .formatted(rcx & string.mask()));
      }
    } while (settling && string.rep() && (rcx & string.mask()) != 0);
    finishStringItem(7, rdi, rcx, string.rip(), string, items);
    pending = Pending.NONE;
    pendingString = null;
  }

  private SpecialRegisters specialRegistersNow() {
    SpecialRegisters special = calls.readSpecial(errno);
    if (special == null) {
      throw hypercallFailure("HvCallGetVpRegisters", "reading the special registers");
    }
    return special;
  }

  /** {@return RIP after an instruction of {@code length} bytes, wrapped as the mode wraps it} */
  private long nextRip(long rip, int length) {
    int state = HvMessage.executionState(message);
    boolean longMode =
        (state & HvMessage.HV_EXECUTION_STATE_EFER_LMA) != 0
            && HvMessage.codeSegment(message).longMode();
    long next = rip + length;
    if (longMode) {
      return next;
    }
    return HvMessage.codeSegment(message).defaultSize() ? next & 0xFFFF_FFFFL : next & 0xFFFF;
  }

  private static long mask(int size) {
    return size == 8 ? -1L : (1L << (8 * size)) - 1;
  }

  private CpuMode mode() {
    int state = HvMessage.executionState(message);
    Segment cs = HvMessage.codeSegment(message);
    if ((state & HvMessage.HV_EXECUTION_STATE_CR0_PE) == 0) {
      return CpuMode.REAL_16;
    }
    if ((state & HvMessage.HV_EXECUTION_STATE_EFER_LMA) != 0 && cs.longMode()) {
      return CpuMode.LONG_64;
    }
    return cs.defaultSize() ? CpuMode.PROTECTED_32 : CpuMode.REAL_16;
  }

  private VcpuExit memory(int type) {
    long gpa = HvMessage.guestPhysicalAddress(message);
    long rip = HvMessage.rip(message);
    int access = HvMessage.accessType(message);
    byte[] bytes = HvMessage.instructionBytes(message);
    if (access == HvMessage.HV_INTERCEPT_ACCESS_EXECUTE) {
      return new VcpuExit.InternalError(
          Integer.toUnsignedLong(type),
          "%s: instruction fetch from GPA 0x%x at RIP 0x%x, which no executable mapping backs"
              .formatted(HvMessage.typeName(type), gpa, rip));
    }
    MmioInstruction instruction;
    try {
      instruction = MmioInstruction.decode(bytes, 0, bytes.length, mode());
    } catch (UnsupportedMmioInstructionException e) {
      return new VcpuExit.InternalError(
          Integer.toUnsignedLong(type),
          "%s at GPA 0x%x, RIP 0x%x: %s (instruction bytes %s)"
              .formatted(
                  HvMessage.typeName(type),
                  gpa,
                  rip,
                  e.getMessage(),
                  HexFormat.of().formatHex(bytes)));
    }
    boolean write = access == HvMessage.HV_INTERCEPT_ACCESS_WRITE;
    if (instruction.write() != write) {
      return new VcpuExit.InternalError(
          Integer.toUnsignedLong(type),
          "%s at GPA 0x%x, RIP 0x%x: the hypervisor reports a %s but the instruction (%s) %s"
              .formatted(
                  HvMessage.typeName(type),
                  gpa,
                  rip,
                  write ? "write" : "read",
                  HexFormat.of().formatHex(bytes),
                  instruction.write() ? "writes" : "reads"));
    }
    long next = nextRip(rip, instruction.length());
    if (write) {
      Registers registers = readGeneral();
      long value = instruction.valueToWrite(encoding -> general(registers, encoding));
      setRip(next);
      return new VcpuExit.MmioWrite(gpa, instruction.size(), value & mask(instruction.size()));
    }
    pending = Pending.MMIO_READ;
    pendingLoad = instruction;
    pendingSize = instruction.size();
    pendingNextRip = next;
    return new VcpuExit.MmioRead(gpa, instruction.size());
  }

  /** {@return general register {@code encoding} (0 = RAX, 1 = RCX, ... 15 = R15)} */
  private static long general(Registers r, int encoding) {
    return switch (encoding) {
      case 0 -> r.rax();
      case 1 -> r.rcx();
      case 2 -> r.rdx();
      case 3 -> r.rbx();
      case 4 -> r.rsp();
      case 5 -> r.rbp();
      case 6 -> r.rsi();
      case 7 -> r.rdi();
      case 8 -> r.r8();
      case 9 -> r.r9();
      case 10 -> r.r10();
      case 11 -> r.r11();
      case 12 -> r.r12();
      case 13 -> r.r13();
      case 14 -> r.r14();
      case 15 -> r.r15();
      default -> throw new IllegalArgumentException("no general register " + encoding);
    };
  }

  @Override
  public void completeIoIn(long value) {
    enter();
    try {
      if (pending == Pending.STRING_IN) {
        answerStringIn(value, false);
        return;
      }
      if (pending != Pending.IO_IN) {
        throw notPending("IoIn");
      }
      answerIoIn(value);
    } finally {
      kicker.leave();
    }
  }

  private void answerIoIn(long value) {
    // in al/ax merges into RAX; in eax zero-extends into RAX, as a 32-bit register write does.
    long rax =
        pendingSize == 4
            ? value & 0xFFFF_FFFFL
            : (pendingRax & ~mask(pendingSize)) | (value & mask(pendingSize));
    setRegisterAndRip(0, rax, pendingNextRip);
    pending = Pending.NONE;
  }

  @Override
  public void completeMmioRead(long value) {
    enter();
    try {
      if (pending != Pending.MMIO_READ) {
        throw notPending("MmioRead");
      }
      answerMmioRead(value);
    } finally {
      kicker.leave();
    }
  }

  private void answerMmioRead(long value) {
    int destination = pendingLoad.destinationRegister();
    int result = calls.get(HvRegisters.generalRegisterName(destination));
    if (result < 0) {
      errno[0] = -result;
      throw hypercallFailure("HvCallGetVpRegisters", "reading register %d".formatted(destination));
    }
    long updated = pendingLoad.registerAfterRead(calls.value(0), value & mask(pendingSize));
    setRegisterAndRip(destination, updated, pendingNextRip);
    pending = Pending.NONE;
    pendingLoad = null;
  }

  /**
   * {@inheritDoc}
   *
   * <p>Every exit but an unanswered {@code in} or load was completed when it was decoded; those two
   * are answered with zero here.
   */
  @Override
  public void settle() {
    enter();
    try {
      settleNow();
    } finally {
      kicker.leave();
    }
  }

  private void settleNow() {
    if (pending == Pending.IO_IN) {
      answerIoIn(0);
    } else if (pending == Pending.STRING_IN) {
      answerStringIn(0, true);
    } else if (pending == Pending.MMIO_READ) {
      answerMmioRead(0);
    }
  }

  private IllegalStateException notPending(String expected) {
    return new IllegalStateException(
        lastExit == null
            ? "the vCPU has not run yet; there is no " + expected + " to answer"
            : "the last exit was %s, not an unanswered %s".formatted(lastExit, expected));
  }

  @Override
  public VcpuInterrupter interrupter() {
    if (!kicker.supported()) {
      throw kicker.unsupported();
    }
    return kicker;
  }

  /** {@return how many kick signals were sent, for tests} */
  long kicks() {
    return kicker.kicks();
  }

  /**
   * Frees the VP. From another thread during {@code run()}, interrupts the run and waits for it to
   * return; if it does not within 10 seconds, throws and leaves the fd open rather than free
   * buffers a thread still uses.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    if (!kicker.closeAndAwaitIdle()) {
      throw new IllegalStateException(
          describe() + " is still running 10 s after close(); its buffers are left in place");
    }
    MshvErrors.released(Libc.close(fd), "close", describe() + " fd " + fd);
    arena.close();
  }

  @Override
  public String toString() {
    return "MshvVcpu[partition '" + partition.label() + "'" + (closed.get() ? ", closed]" : "]");
  }
}
