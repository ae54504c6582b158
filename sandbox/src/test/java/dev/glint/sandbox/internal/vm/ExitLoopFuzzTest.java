package dev.glint.sandbox.internal.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.glint.hv.VcpuExit;
import dev.glint.sandbox.internal.image.GuestImage;
import dev.glint.sandbox.internal.image.LoadSegment;
import dev.glint.sandbox.internal.layout.LayoutSizes;
import dev.glint.sandbox.internal.layout.MemoryPlan;
import dev.glint.sandbox.internal.wire.FunctionSignature;
import dev.glint.sandbox.internal.wire.GuestRecords;
import dev.glint.sandbox.internal.wire.RecordEncoder;
import dev.glint.sandbox.internal.wire.WireCodec;
import dev.glint.sandbox.internal.wire.WireFormatException;
import dev.glint.sandbox.internal.wire.WireType;
import dev.glint.sandbox.testing.Bounded;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.ResourceBundle;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Fuzzes the host side of a call: the run loop's handling of every vCPU exit and the host-call
 * dispatcher (decode the guest's host call, find the function, check the arguments, run it, encode
 * the result into the input buffer), against a scripted vCPU that plays fuzzer-chosen exits over
 * fuzzer-written guest buffers.
 *
 * <p>Contract: {@link ExitLoop#run} returns a {@link Stop} for any script, never throws, within
 * {@link Bounded#LIMIT}; it runs the vCPU exactly once per step until the first stop; every host
 * call it answers leaves a well-formed host result (of the function's declared type, or an error)
 * at the first multiple of 8 after the call record, inside the input buffer, and never touches the
 * call record before it.
 *
 * <p>Input: a u16 call record size, then steps of {@code op, u16 length, length bytes}: op 0 writes
 * the bytes into the output buffer and signals HOST_CALL, 1 LOG, 2 ABORT; 3 signals FAULT with RIP
 * and RAX from the bytes; 4 is another exit the first byte picks (I/O in, MMIO, hlt, shutdown,
 * cancel, entry failure, internal error, unknown, an undefined port, READY); 5 signals RETURN. The
 * script always ends with RETURN. Corpus: {@code .../vm/ExitLoopFuzzTestInputs/run}; {@code
 * bin/glint-fuzz exits} fuzzes for real.
 */
class ExitLoopFuzzTest {
  /** Small buffers, so that records reach their ends often. */
  private static final LayoutSizes SIZES =
      new LayoutSizes(6L << 20, 64L << 10, 16L << 10, 4096, 4096);

  private static final int MAX_STEPS = 64;
  private static ScriptedHypervisor hypervisor;
  private static GuestVm vm;
  private static HostFunctionTable hostFunctions;

  @BeforeAll
  static void create() {
    hypervisor = new ScriptedHypervisor();
    GuestImage image =
        new GuestImage(
            0x200000,
            List.of(new LoadSegment(0, 0x200000, 0x10, 0, 0x2, true, false, true)),
            new byte[] {(byte) 0xEB, (byte) 0xFE});
    vm = GuestVm.create(hypervisor, image, MemoryPlan.of(SIZES, image.end()), 3, "fuzz");
    hostFunctions = new HostFunctionTable(bindings());
  }

  @AfterAll
  static void close() {
    vm.close();
    hypervisor.close();
  }

  /** Host functions covering every type and every way a host function can fail. */
  static List<HostBinding> bindings() {
    List<HostBinding> bindings = new ArrayList<>();
    for (WireType type : WireType.values()) {
      if (type != WireType.VOID) {
        bindings.add(
            binding("Echo" + type.abiName(), type, List.of(type), args -> args.getFirst()));
      }
    }
    bindings.add(binding("Void", WireType.VOID, List.of(), args -> null));
    bindings.add(
        binding(
            "Throw",
            WireType.I32,
            List.of(WireType.STRING),
            args -> {
              throw new IllegalStateException((String) args.getFirst());
            }));
    bindings.add(binding("Null", WireType.STRING, List.of(), args -> null));
    bindings.add(binding("WrongType", WireType.I32, List.of(), args -> "not an i32"));
    bindings.add(binding("Surrogate", WireType.STRING, List.of(), args -> "\uD800"));
    bindings.add(
        binding(
            "Big",
            WireType.BYTES,
            List.of(WireType.I32),
            args -> new byte[Math.floorMod((Integer) args.getFirst(), 1 << 16)]));
    List<WireType> sixteen = java.util.Collections.nCopies(16, WireType.I64);
    bindings.add(
        binding(
            "Sum16", WireType.I64, sixteen, args -> args.stream().mapToLong(a -> (Long) a).sum()));
    return bindings;
  }

  private static HostBinding binding(
      String name, WireType returns, List<WireType> parameters, HostBinding.Invoker invoker) {
    return new HostBinding(new FunctionSignature(name, returns, parameters), invoker);
  }

  @FuzzTest(maxDuration = "30s")
  void run(byte[] data) throws Exception {
    Bounded.run(() -> runOnce(data));
  }

  private static void runOnce(byte[] data) {
    if (data.length < 2) {
      return;
    }
    MemorySegment input = vm.input();
    MemorySegment output = vm.output();
    input.fill((byte) 0);
    output.fill((byte) 0);
    long maxRecord = ExitLoop.maxCallRecordSize(input.byteSize());
    long callRecordSize = (((data[0] & 0xFF) | (data[1] & 0xFF) << 8)) % (maxRecord + 1);
    long resultOffset = (callRecordSize + 7) & -8L;
    // The call record the guest may read for the whole call: a pattern the host must not touch.
    for (long i = 0; i < callRecordSize; i++) {
      input.set(ValueLayout.JAVA_BYTE, i, (byte) (i * 31 + 7));
    }
    hypervisor.script.clear();
    int steps = 0;
    int at = 2;
    boolean[] previousWasHostCall = {false};
    while (at < data.length && steps < MAX_STEPS) {
      int op = (data[at] & 0xFF) % 6;
      int length = at + 2 < data.length ? (data[at + 1] & 0xFF) | (data[at + 2] & 0xFF) << 8 : 0;
      int from = Math.min(at + 3, data.length);
      int to = Math.min(from + length, data.length);
      byte[] bytes = java.util.Arrays.copyOfRange(data, from, to);
      at = to;
      hypervisor.script.add(step(op, bytes, previousWasHostCall, callRecordSize, resultOffset));
      steps++;
    }
    hypervisor.script.add(step(5, new byte[0], previousWasHostCall, callRecordSize, resultOffset));
    steps++;

    ExitLoop loop = new ExitLoop(vm, hostFunctions, new DiscardingLogger());
    ExitLoop.Result result = loop.run(ExitLoop.RETURN, callRecordSize);
    assertTrue(result.stop() != null, "no stop");
    if (result.stop() instanceof Stop.Faulted(FaultReport fault)) {
      assertTrue(fault.vector() >= 0 && fault.vector() <= 31, "vector " + fault.vector());
    }
    assertEquals(steps - hypervisor.script.size(), result.exits(), "one exit per vCPU run");
    checkCallRecord(callRecordSize);
  }

  /** {@return the scripted step for {@code op}} */
  private static ScriptedHypervisor.Step step(
      int op, byte[] bytes, boolean[] previousWasHostCall, long callRecordSize, long resultOffset) {
    return (memory, vcpu) -> {
      if (previousWasHostCall[0]) {
        checkHostResult(callRecordSize, resultOffset);
      }
      previousWasHostCall[0] = op == 0;
      MemorySegment output = vm.output();
      int n = (int) Math.min(bytes.length, output.byteSize());
      return switch (op) {
        case 0, 1, 2 -> {
          MemorySegment.copy(bytes, 0, output, ValueLayout.JAVA_BYTE, 0, n);
          yield new VcpuExit.IoOut(ExitLoop.HOST_CALL + op, 1, 0);
        }
        case 3 -> {
          // The fault registers (ABI §6) from the bytes: RIP, RAX, RBX, RCX, R8, RSI, RDI.
          long[] v = {0x3000, 14, 0, 0, 0, 0, 0};
          MemorySegment b = MemorySegment.ofArray(bytes);
          for (int k = 0; k < v.length && 8L * k + 8 <= bytes.length; k++) {
            v[k] = b.get(ValueLayout.JAVA_LONG_UNALIGNED, 8L * k);
          }
          vcpu.registers =
              vcpu.registers
                  .withRip(v[0])
                  .withRax(v[1])
                  .with(dev.glint.hv.Register.RBX, v[2])
                  .with(dev.glint.hv.Register.RCX, v[3])
                  .with(dev.glint.hv.Register.R8, v[4])
                  .with(dev.glint.hv.Register.RSI, v[5])
                  .with(dev.glint.hv.Register.RDI, v[6]);
          yield new VcpuExit.IoOut(ExitLoop.FAULT, 1, 0);
        }
        case 4 -> other(bytes);
        default -> new VcpuExit.IoOut(ExitLoop.RETURN, 1, 0);
      };
    };
  }

  private static VcpuExit other(byte[] bytes) {
    long value =
        bytes.length >= 9
            ? MemorySegment.ofArray(bytes).get(ValueLayout.JAVA_LONG_UNALIGNED, 1)
            : 0;
    int kind = bytes.length > 0 ? (bytes[0] & 0xFF) % 11 : 0;
    return switch (kind) {
      case 0 -> new VcpuExit.IoIn((int) (value & 0xFFFF), 1);
      case 1 -> new VcpuExit.MmioRead(value, 4);
      case 2 -> new VcpuExit.MmioWrite(value, 8, value);
      case 3 -> new VcpuExit.Halt();
      case 4 -> new VcpuExit.Shutdown();
      case 5 -> new VcpuExit.Cancelled();
      case 6 -> new VcpuExit.FailEntry(value, "fuzzed entry failure");
      case 7 -> new VcpuExit.InternalError(value, "fuzzed internal error");
      case 8 -> new VcpuExit.Unknown(value, "fuzzed exit");
      case 9 -> new VcpuExit.IoOut((int) (value & 0xFFFF), 1, value);
      default -> new VcpuExit.IoOut(ExitLoop.READY, 1, 0);
    };
  }

  /** The host answered the host call now in the output buffer: its result must be well formed. */
  private static void checkHostResult(long callRecordSize, long resultOffset) {
    checkCallRecord(callRecordSize);
    GuestRecords.HostCall call;
    try {
      call = WireCodec.decodeHostCall(vm.output());
    } catch (WireFormatException e) {
      throw new AssertionError("the loop went on after a malformed host call", e);
    }
    WireType declared =
        hostFunctions.find(call.name()).map(b -> b.signature().returnType()).orElse(WireType.VOID);
    MemorySegment at = vm.input().asSlice(resultOffset);
    try {
      WireCodec.decodeHostResult(at, declared);
    } catch (WireFormatException e) {
      throw new AssertionError(
          "the host answered " + call.name() + " with a malformed host result at " + resultOffset,
          e);
    }
  }

  private static void checkCallRecord(long callRecordSize) {
    MemorySegment input = vm.input();
    for (long i = 0; i < callRecordSize; i++) {
      if (input.get(ValueLayout.JAVA_BYTE, i) != (byte) (i * 31 + 7)) {
        throw new AssertionError("the host overwrote byte " + i + " of the call record");
      }
    }
  }

  /** A logger that drops the guest's records (the fuzzer logs a lot). */
  private static final class DiscardingLogger implements System.Logger {
    @Override
    public String getName() {
      return "fuzz";
    }

    @Override
    public boolean isLoggable(Level level) {
      return false;
    }

    @Override
    public void log(Level level, ResourceBundle bundle, String message, Throwable thrown) {}

    @Override
    public void log(Level level, ResourceBundle bundle, String format, Object... params) {}
  }

  /**
   * Writes the seed corpus: scripts of valid host calls to every host function (including the
   * failing ones), a log, and the other exits, which the fuzzer then mutates.
   *
   * @param args the corpus directory
   */
  public static void main(String[] args) throws IOException {
    Path dir = Path.of(args[0]);
    Files.createDirectories(dir);
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    all.write(new byte[] {100, 0});
    for (HostBinding b : bindings()) {
      List<Object> arguments = new ArrayList<>();
      for (WireType t : b.signature().parameters()) {
        arguments.add(
            switch (t) {
              case I32, U32 -> 70000;
              case I64, U64 -> -5L;
              case F32 -> 1.5f;
              case F64 -> -0.0;
              case BOOL -> true;
              case STRING -> "hé";
              case BYTES -> new byte[] {9, 8, 7};
              case VOID -> throw new AssertionError();
            });
      }
      RecordEncoder call = WireCodec.encodeHostCall(b.signature(), arguments);
      byte[] one = stepBytes(0, call);
      Files.write(
          dir.resolve("host-call-" + b.signature().name()), concat(new byte[] {100, 0}, one));
      all.write(one);
    }
    all.write(
        stepBytes(
            1,
            new RecordEncoder(dev.glint.sandbox.internal.wire.RecordKind.LOG)
                .u8(3)
                .lengthPrefixed(new byte[] {'h', 'i'})));
    for (int kind = 0; kind < 11; kind++) {
      all.write(concat(new byte[] {4, 9, 0, (byte) kind}, new byte[] {1, 1, 0, 0, 0, 0, 0, 0}));
    }
    Files.write(dir.resolve("every-host-function-then-every-exit"), all.toByteArray());
    Files.write(
        dir.resolve("fault-from-stub"),
        concat(
            new byte[] {0, 0, 3, 16, 0},
            new byte[] {0, 0x30, 0, 0, 0, 0, 0, 0, 14, 0, 0, 0, 0, 0, 0, 0}));
  }

  private static byte[] stepBytes(int op, RecordEncoder record) {
    byte[] bytes = new byte[Math.toIntExact(record.size())];
    record.writeTo(MemorySegment.ofArray(bytes), 0);
    return concat(new byte[] {(byte) op, (byte) bytes.length, (byte) (bytes.length >> 8)}, bytes);
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
