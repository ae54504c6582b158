package dev.glint.benchmarks;

import com.dylibso.chicory.compiler.MachineFactoryCompiler;
import com.dylibso.chicory.runtime.ExportFunction;
import com.dylibso.chicory.runtime.HostFunction;
import com.dylibso.chicory.runtime.ImportValues;
import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.runtime.Machine;
import com.dylibso.chicory.runtime.Memory;
import com.dylibso.chicory.wasm.Parser;
import com.dylibso.chicory.wasm.WasmModule;
import com.dylibso.chicory.wasm.types.FunctionType;
import com.dylibso.chicory.wasm.types.ValType;
import dev.glint.guest.SampleGuests;
import dev.glint.sandbox.PrivilegeLevel;
import dev.glint.sandbox.Sandbox;
import dev.glint.sandbox.Snapshot;
import dev.glint.sandbox.ValueType;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * The peer benchmark (issue 5): Glint beside the other ways to run a small untrusted function,
 * measured side by side in one run, on two workloads, and printed as one table of ratios to Glint
 * on KVM at CPL 3.
 *
 * <p>The workloads are those of the sample guests: <b>hello</b> ({@code PrintOutput("Hello,
 * Glint!")}, which calls the host function {@code HostPrint} once and returns what it returned) and
 * <b>SHA-256 of 1 MiB</b> ({@code Sha256(bytes)}; every peer runs the guest SDK's own {@code
 * sha256.c}, so the same C code is compared, compiled by each peer's tool chain).
 *
 * <p>The peers (rows):
 *
 * <ul>
 *   <li><b>Glint on KVM</b> at CPL 3 and at CPL 0: cold start = {@code Sandbox.builder()...build()}
 *       from the ELF to READY, and from a {@link Snapshot} as a second row; warm calls on one
 *       sandbox built that way and kept for the whole run. At CPL 0, which PVM emulates instruction
 *       by instruction, SHA-256 runs over 4 KiB and its ratio is per byte.
 *   <li><b>Glint on the emulated backend</b>: not written yet (issue 6); the row says so.
 *   <li><b>Chicory</b> (pure-Java WebAssembly), interpreter and compiler (WebAssembly to JVM
 *       bytecode at run time), running {@code peer_wasm.c} compiled for wasm32 with clang at run
 *       time; hello calls the imported host function {@code env.host_print}. Cold start = parse +
 *       (compile +) instantiate, and instantiate a module parsed (and compiled) once as a second
 *       row.
 *   <li><b>Process per call</b>: {@code peer_process.c} linked statically; each call spawns it,
 *       from Java ({@link ProcessBuilder}) and from C ({@code spawn_floor.c}, the floor of
 *       spawning). A call is a cold start, so the warm columns say n/a and give the cost per call.
 *   <li><b>QEMU microvm</b>: {@code qemu-system-x86_64 -M microvm} with KVM, booting a 64 KiB
 *       firmware ({@code microvm_firmware.S}) whose first instruction writes to {@code
 *       isa-debug-exit}, so QEMU exits: the boot of a traditional VM to its first instruction.
 *       Spawn to exit, spawned from C. With TCG as an extra, labelled row.
 *   <li><b>C KVM floor</b>: {@code kvm_floor.c} (create VM + 8 MiB + vCPU + run to HLT for the cold
 *       start, two {@code out} exit round trips for the hello call) and the SDK's SHA-256 compiled
 *       natively with the guest's flags.
 * </ul>
 *
 * <p><b>Memory per instance</b>: for peers inside this JVM (Glint, Chicory), the growth per
 * instance while {@value #INSTANCES} instances are alive, each after one hello call: the process's
 * private anonymous resident memory ({@code RssAnon}: guest memory pages a sandbox touched or
 * copied from a snapshot, native allocations, JIT-generated classes) plus the resident pages of the
 * vCPU mappings ({@code kvm_run}), plus the Java heap in use after a GC (Chicory's linear memory
 * lives there). The heap must be fixed and pre-touched ({@code -Xms} = {@code -Xmx}, {@code
 * -XX:+AlwaysPreTouch}, as {@code bin/glint-bench-peers} runs it) so that its pages are not counted
 * twice. Pages shared with a snapshot are counted once for the whole run, not per instance. Kernel
 * memory (KVM's VM and vCPU structures, shadow page tables) is not visible per process and not
 * counted. For spawned peers: the child's peak resident set ({@code ru_maxrss} from {@code wait4}).
 *
 * <p>Run with {@code bin/glint-bench-peers [rounds] [samples per round]}. Every peer is warmed up,
 * then each round measures every peer in turn (interleaved), and the table shows the median of the
 * rounds' medians.
 */
public final class PeerBenchmark {
  private static final String HELLO_TEXT = "Hello, Glint!";
  private static final int SHA_BYTES = 1 << 20;
  private static final int SHA_BYTES_KERNEL = 4 << 10;
  private static final int INSTANCES = 100;
  private static final String EMULATED = "not yet available (issue 6)";

  /** The SDK files every SHA-256 build links: the very code the compute guest runs. */
  private static final List<String> SDK_FILES =
      List.of("sdk/src/sha256.c", "sdk/src/libc.c", "sdk/src/internal.h", "sdk/include/glint.h");

  private PeerBenchmark() {}

  /**
   * Runs the benchmark and prints the table.
   *
   * @param args optional: rounds (default 5), samples per round (default 300: warm hello calls;
   *     cold starts are a third as many, slow ones a thirtieth)
   */
  public static void main(String[] args) throws Exception {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
    int samples = args.length > 1 ? Integer.parseInt(args[1]) : 300;
    Counts counts = new Counts(samples);
    Workload work = new Workload();

    List<Peer> peers =
        List.of(
            new GlintPeer(PrivilegeLevel.USER, work, counts),
            new GlintPeer(PrivilegeLevel.KERNEL, work, counts),
            new EmulatedPeer(),
            new ChicoryPeer(false, work, counts),
            new ChicoryPeer(true, work, counts),
            new ProcessPeer(work, counts),
            new QemuPeer("kvm", counts),
            new QemuPeer("tcg", counts),
            new FloorPeer(counts));
    System.out.printf(
        "%d rounds; per round: %d warm hello calls, %d cold starts (slow ones: %d), SHA-256 of"
            + " %d KiB (CPL 0: %d KiB); memory over %d live instances%n",
        rounds,
        counts.calls,
        counts.colds,
        counts.slowColds,
        SHA_BYTES >> 10,
        SHA_BYTES_KERNEL >> 10,
        INSTANCES);

    for (Peer peer : peers) {
      attempt(peer, "preparing", peer::prepare);
      attempt(peer, "warming up", peer::warmUp);
    }
    KvmFloorBenchmark.Medians medians = new KvmFloorBenchmark.Medians();
    for (int round = 0; round < rounds; round++) {
      System.err.printf("round %d of %d%n", round + 1, rounds);
      for (Peer peer : peers) {
        attempt(peer, "measuring", () -> peer.round(medians));
      }
    }
    Map<String, Long> memory = new HashMap<>();
    for (Peer peer : peers) {
      attempt(peer, "measuring memory", () -> peer.memory(memory));
    }

    List<Row> rows = new ArrayList<>();
    for (Peer peer : peers) {
      rows.addAll(peer.rows(medians, memory));
    }
    print(rows.getFirst(), rows);
    System.out.println();
    for (Peer peer : peers) {
      for (String note : peer.notes) {
        System.out.println("- " + note);
      }
    }
  }

  /** A step of a peer that can fail (a tool missing, a VM refused): the peer's rows say why. */
  private interface Step {
    void run() throws Exception;
  }

  private static void attempt(Peer peer, String what, Step step) {
    if (peer.unavailable != null) {
      return;
    }
    try {
      step.run();
    } catch (Exception e) {
      String reason = e.getMessage() == null ? e.toString() : e.getMessage().strip();
      peer.unavailable = "not measured: " + reason.lines().findFirst().orElse(reason);
      System.err.printf("%s: %s failed:%n%s%n", peer.name, what, reason);
    }
  }

  /** How many samples one round takes of each kind of measurement. */
  record Counts(int calls, int colds, int slowColds, int spawns) {
    Counts(int samples) {
      this(samples, Math.max(10, samples / 3), Math.max(3, samples / 30), Math.max(5, samples / 6));
    }
  }

  /** The workloads' inputs and the answers every peer must give. */
  static final class Workload {
    final byte[] data = pattern(SHA_BYTES);
    final byte[] digest = sha256(data);
    final byte[] smallData = pattern(SHA_BYTES_KERNEL);
    final byte[] smallDigest = sha256(smallData);

    static byte[] pattern(int size) {
      byte[] data = new byte[size];
      for (int i = 0; i < size; i++) {
        data[i] = (byte) (i * 31 + 7);
      }
      return data;
    }

    static byte[] sha256(byte[] data) {
      try {
        return MessageDigest.getInstance("SHA-256").digest(data);
      } catch (java.security.NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      }
    }

    static void check(byte[] digest, byte[] expected, String who) {
      if (!Arrays.equals(digest, expected)) {
        throw new IllegalStateException(
            "%s gave SHA-256 %s, expected %s"
                .formatted(
                    who, HexFormat.of().formatHex(digest), HexFormat.of().formatHex(expected)));
      }
    }
  }

  /** One system under test: measured in every round, giving one or more rows of the table. */
  abstract static class Peer {
    final String name;
    final List<String> notes = new ArrayList<>();
    String unavailable;

    Peer(String name) {
      this.name = name;
    }

    void prepare() throws Exception {}

    void warmUp() throws Exception {}

    abstract void round(KvmFloorBenchmark.Medians medians) throws Exception;

    void memory(Map<String, Long> memory) throws Exception {}

    abstract List<Row> rows(KvmFloorBenchmark.Medians medians, Map<String, Long> memory);

    /** {@return the cell for a measured median, or the reason it is missing} */
    Cell time(KvmFloorBenchmark.Medians medians, String key) {
      return unavailable != null ? Cell.text(unavailable) : Cell.nanos(medians.medianOf(key));
    }

    Cell bytes(Map<String, Long> memory, String key) {
      if (unavailable != null) {
        return Cell.text(unavailable);
      }
      Long value = memory.get(key);
      return value == null ? Cell.text("not measured") : Cell.bytes(value);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Glint

  /** Glint on KVM at one privilege level: built from the ELF, and started from a snapshot. */
  static final class GlintPeer extends Peer {
    private final PrivilegeLevel level;
    private final Workload work;
    private final Counts counts;
    private final String id;
    private byte[] hello;
    private byte[] compute;
    private Sandbox helloTemplate;
    private Sandbox computeTemplate;
    private Snapshot helloSnapshot;
    private Snapshot computeSnapshot;
    // Warm calls run on these, kept for the whole run: a warm call is one into a sandbox that has
    // run calls before (its stack, buffers and page-table entries touched).
    private final Map<String, Sandbox> warm = new HashMap<>();

    GlintPeer(PrivilegeLevel level, Workload work, Counts counts) {
      super("Glint on KVM, CPL " + level.cpl());
      this.level = level;
      this.work = work;
      this.counts = counts;
      this.id = "glint" + level.cpl();
    }

    private boolean user() {
      return level == PrivilegeLevel.USER;
    }

    private byte[] data() {
      return user() ? work.data : work.smallData;
    }

    /** At CPL 0 every guest instruction is emulated: fewer samples keep a round in seconds. */
    private int calls() {
      return user() ? counts.calls : Math.max(10, counts.calls / 10);
    }

    private int colds() {
      return user() ? counts.colds : Math.max(10, counts.colds / 10);
    }

    private int shaCalls() {
      return user() ? 9 : 2;
    }

    @Override
    void prepare() {
      hello = SampleGuests.load(SampleGuests.HELLO);
      compute = SampleGuests.load(SampleGuests.COMPUTE);
      helloTemplate = fromElf(hello);
      helloSnapshot = helloTemplate.snapshot();
      computeTemplate = fromElf(compute);
      computeSnapshot = computeTemplate.snapshot();
      warm.put("hello elf", fromElf(hello));
      warm.put("hello snapshot", fromSnapshot(helloSnapshot));
      warm.put("sha elf", fromElf(compute));
      warm.put("sha snapshot", fromSnapshot(computeSnapshot));
    }

    private Sandbox fromElf(byte[] guest) {
      return Sandbox.builder().guest(guest).privilegeLevel(level).printTo(text -> {}).build();
    }

    private static Sandbox fromSnapshot(Snapshot snapshot) {
      return Sandbox.builder().snapshot(snapshot).printTo(text -> {}).build();
    }

    @Override
    void warmUp() {
      // The build path runs once per build: the JIT needs a few thousand builds to compile it.
      int colds = user() ? 2000 : 200;
      timeColds(colds, () -> fromElf(hello));
      timeColds(colds, () -> fromSnapshot(helloSnapshot));
      for (String from : List.of("elf", "snapshot")) {
        helloCalls(warm.get("hello " + from), calls());
        shaCalls(warm.get("sha " + from), 1);
      }
    }

    @Override
    void round(KvmFloorBenchmark.Medians medians) {
      medians.add(id + "/cold elf", timeColds(colds(), () -> fromElf(hello)).median());
      medians.add(
          id + "/cold snapshot", timeColds(colds(), () -> fromSnapshot(helloSnapshot)).median());
      for (String from : List.of("elf", "snapshot")) {
        medians.add(id + "/hello " + from, helloCalls(warm.get("hello " + from), calls()).median());
        medians.add(id + "/sha " + from, shaCalls(warm.get("sha " + from), shaCalls()).median());
      }
    }

    @Override
    void memory(Map<String, Long> memory) throws IOException {
      memory.put(id + "/elf", bytesPerInstance(() -> called(fromElf(hello))));
      memory.put(id + "/snapshot", bytesPerInstance(() -> called(fromSnapshot(helloSnapshot))));
      warm.values().forEach(Sandbox::close);
      helloSnapshot.close();
      helloTemplate.close();
      computeSnapshot.close();
      computeTemplate.close();
    }

    private static Sandbox called(Sandbox sandbox) {
      helloCall(sandbox);
      return sandbox;
    }

    private static Samples timeColds(int count, java.util.function.Supplier<Sandbox> start) {
      long[] nanos = new long[count];
      for (int i = 0; i < count; i++) {
        long begin = System.nanoTime();
        Sandbox sandbox = start.get();
        nanos[i] = System.nanoTime() - begin;
        sandbox.close();
      }
      return new Samples("cold", nanos);
    }

    private static void helloCall(Sandbox sandbox) {
      int written = sandbox.call("PrintOutput", ValueType.I32, HELLO_TEXT);
      if (written != HELLO_TEXT.length()) {
        throw new IllegalStateException("PrintOutput returned " + written);
      }
    }

    private static Samples helloCalls(Sandbox sandbox, int count) {
      int warmup = count / 10 + 1;
      long[] nanos = new long[count];
      for (int i = 0; i < warmup + count; i++) {
        long begin = System.nanoTime();
        helloCall(sandbox);
        long end = System.nanoTime();
        if (i >= warmup) {
          nanos[i - warmup] = end - begin;
        }
      }
      return new Samples("hello", nanos);
    }

    private Samples shaCalls(Sandbox sandbox, int count) {
      byte[] data = data();
      byte[] expected = user() ? work.digest : work.smallDigest;
      long[] nanos = new long[count];
      for (int i = 0; i < count; i++) {
        long begin = System.nanoTime();
        byte[] digest = sandbox.call("Sha256", ValueType.BYTES, (Object) data);
        nanos[i] = System.nanoTime() - begin;
        Workload.check(digest, expected, name);
      }
      return new Samples("sha", nanos);
    }

    @Override
    List<Row> rows(KvmFloorBenchmark.Medians medians, Map<String, Long> memory) {
      List<Row> rows = new ArrayList<>();
      for (String from : List.of("elf", "snapshot")) {
        Cell sha = time(medians, id + "/sha " + from);
        if (!user()) {
          sha = sha.perByte(SHA_BYTES_KERNEL, "4 KiB, emulated");
        }
        rows.add(
            new Row(
                "Glint, KVM, CPL %d, %s"
                    .formatted(
                        level.cpl(),
                        from.equals("elf") ? "built from the ELF" : "started from a snapshot"),
                time(medians, id + "/cold " + from),
                time(medians, id + "/hello " + from),
                sha,
                bytes(memory, id + "/" + from)));
      }
      return rows;
    }
  }

  /** The emulated backend, which does not exist yet. */
  static final class EmulatedPeer extends Peer {
    EmulatedPeer() {
      super("Glint on the emulated backend");
    }

    @Override
    void round(KvmFloorBenchmark.Medians medians) {}

    @Override
    List<Row> rows(KvmFloorBenchmark.Medians medians, Map<String, Long> memory) {
      Cell none = Cell.text(EMULATED);
      return List.of(new Row("Glint, emulated backend", none, none, none, none));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Chicory

  /** Chicory with its interpreter or its run-time compiler, on the module built from C. */
  static final class ChicoryPeer extends Peer {
    private static byte[] wasm;
    private final boolean compiled;
    private final Workload work;
    private final Counts counts;
    private final String id;
    private WasmModule module;
    private Function<Instance, Machine> machine;
    // Warm calls run on these two instances, kept for the whole run.
    private Wasm helloInstance;
    private Wasm shaInstance;

    ChicoryPeer(boolean compiled, Workload work, Counts counts) {
      super("Chicory " + (compiled ? "compiler" : "interpreter"));
      this.compiled = compiled;
      this.work = work;
      this.counts = counts;
      this.id = compiled ? "chicory-aot" : "chicory";
    }

    /** Compiles {@code peer_wasm.c} and the SDK's SHA-256 for wasm32, once for both peers. */
    private static synchronized byte[] wasm() throws IOException, InterruptedException {
      if (wasm == null) {
        Path module =
            CFloor.build(
                "clang",
                "peer_wasm.c",
                "peer.wasm",
                List.of(
                    "--target=wasm32",
                    "-O2",
                    "-ffreestanding",
                    "-fno-builtin",
                    "-nostdlib",
                    "-Wl,--no-entry",
                    "-Wl,--strip-debug"),
                SDK_FILES);
        wasm = Files.readAllBytes(module);
      }
      return wasm;
    }

    @Override
    void prepare() throws Exception {
      module = Parser.parse(wasm());
      machine = compiled ? MachineFactoryCompiler.compile(module) : null;
      Instance probe = instantiate(false);
      if (!compiled) {
        notes.add(
            "Chicory: the module (`peer_wasm.c` + the SDK's `sha256.c`, clang for wasm32) is %d"
                    .formatted(wasm.length)
                + " bytes; a hello instance's linear memory is %d KiB (counted in its memory)."
                    .formatted(probe.memory().pages() * (Memory.PAGE_SIZE >> 10)));
      }
    }

    /** {@return a new instance, from a module parsed (and compiled) anew when {@code fresh}} */
    private Instance instantiate(boolean fresh) {
      WasmModule source = fresh ? Parser.parse(wasm) : module;
      Instance.Builder builder = Instance.builder(source).withImportValues(imports());
      if (compiled) {
        builder.withMachineFactory(fresh ? MachineFactoryCompiler.compile(source) : machine);
      }
      return builder.build();
    }

    /**
     * The host function {@code env.host_print(ptr, len) -> i32}: reads the text out of the linear
     * memory and hands it to a do-nothing sink, as Glint's {@code HostPrint} does.
     */
    private static ImportValues imports() {
      HostFunction print =
          new HostFunction(
              "env",
              "host_print",
              FunctionType.of(List.of(ValType.I32, ValType.I32), List.of(ValType.I32)),
              (instance, args) -> {
                String text = instance.memory().readString((int) args[0], (int) args[1]);
                SINK.accept(text);
                return new long[] {text.length()};
              });
      return ImportValues.builder().addFunction(print).build();
    }

    private static final java.util.function.Consumer<String> SINK = text -> {};

    /** An instance with its exports looked up once, as a host keeps them. */
    private static final class Wasm {
      final Instance instance;
      final ExportFunction input;
      final ExportFunction printOutput;
      final ExportFunction sha256;

      Wasm(Instance instance) {
        this.instance = instance;
        this.input = instance.export("input");
        this.printOutput = instance.export("print_output");
        this.sha256 = instance.export("sha256");
      }

      void hello() {
        byte[] text = HELLO_TEXT.getBytes(StandardCharsets.UTF_8);
        int at = (int) input.apply(text.length)[0];
        instance.memory().write(at, text);
        long written = printOutput.apply(text.length)[0];
        if (written != HELLO_TEXT.length()) {
          throw new IllegalStateException("print_output returned " + written);
        }
      }

      byte[] sha(byte[] data) {
        int at = (int) input.apply(data.length)[0];
        if (at == 0) {
          throw new IllegalStateException("the module could not grow its memory");
        }
        instance.memory().write(at, data);
        int digest = (int) sha256.apply(data.length)[0];
        return instance.memory().readBytes(digest, 32);
      }
    }

    private int freshColds() {
      return compiled ? counts.slowColds : counts.colds;
    }

    /** The interpreter takes seconds for 1 MiB: two calls a round. */
    private int shaCalls() {
      return compiled ? 9 : 2;
    }

    @Override
    void warmUp() {
      timeColds(compiled ? 20 : 1000, true);
      timeColds(1000, false);
      helloInstance = new Wasm(instantiate(false));
      shaInstance = new Wasm(instantiate(false));
      helloCalls(helloInstance, counts.calls * 3);
      shaCalls(shaInstance, 1);
    }

    private Samples timeColds(int count, boolean fresh) {
      long[] nanos = new long[count];
      for (int i = 0; i < count; i++) {
        long begin = System.nanoTime();
        Instance instance = instantiate(fresh);
        nanos[i] = System.nanoTime() - begin;
        if (instance.memory() == null) {
          throw new IllegalStateException("no memory");
        }
      }
      return new Samples("cold", nanos);
    }

    private static Samples helloCalls(Wasm wasm, int count) {
      int warmup = count / 10 + 1;
      long[] nanos = new long[count];
      for (int i = 0; i < warmup + count; i++) {
        long begin = System.nanoTime();
        wasm.hello();
        long end = System.nanoTime();
        if (i >= warmup) {
          nanos[i - warmup] = end - begin;
        }
      }
      return new Samples("hello", nanos);
    }

    private Samples shaCalls(Wasm wasm, int count) {
      long[] nanos = new long[count];
      for (int i = 0; i < count; i++) {
        long begin = System.nanoTime();
        byte[] digest = wasm.sha(work.data);
        nanos[i] = System.nanoTime() - begin;
        Workload.check(digest, work.digest, name);
      }
      return new Samples("sha", nanos);
    }

    @Override
    void round(KvmFloorBenchmark.Medians medians) {
      medians.add(id + "/cold fresh", timeColds(freshColds(), true).median());
      medians.add(id + "/cold shared", timeColds(counts.colds, false).median());
      medians.add(id + "/hello", helloCalls(helloInstance, counts.calls).median());
      medians.add(id + "/sha", shaCalls(shaInstance, shaCalls()).median());
    }

    @Override
    void memory(Map<String, Long> memory) throws IOException {
      memory.put(id + "/fresh", bytesPerInstance(() -> called(instantiate(true))));
      memory.put(id + "/shared", bytesPerInstance(() -> called(instantiate(false))));
    }

    private static Wasm called(Instance instance) {
      Wasm wasm = new Wasm(instance);
      wasm.hello();
      return wasm;
    }

    @Override
    List<Row> rows(KvmFloorBenchmark.Medians medians, Map<String, Long> memory) {
      String mode = compiled ? "compiler (to JVM bytecode at run time)" : "interpreter";
      String make = compiled ? "parse + compile + instantiate" : "parse + instantiate";
      String reuse = compiled ? "instantiate a compiled module" : "instantiate a parsed module";
      Cell hello = time(medians, id + "/hello");
      Cell sha = time(medians, id + "/sha");
      return List.of(
          new Row(
              "Chicory %s, %s, %s".formatted(chicoryVersion(), mode, make),
              time(medians, id + "/cold fresh"),
              hello,
              sha,
              bytes(memory, id + "/fresh")),
          new Row(
              "Chicory %s, %s, %s".formatted(chicoryVersion(), mode, reuse),
              time(medians, id + "/cold shared"),
              hello,
              sha,
              bytes(memory, id + "/shared")));
    }

    private static String chicoryVersion() {
      return Instance.class
          .getModule()
          .getDescriptor()
          .rawVersion()
          .orElse(Instance.class.getModule().getName());
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Spawned peers

  /** The process-per-call peer: a static C program spawned for every call. */
  static final class ProcessPeer extends Peer {
    private final Workload work;
    private final Counts counts;
    private Path program;
    private CFloor spawner;

    ProcessPeer(Workload work, Counts counts) {
      super("process per call");
      this.work = work;
      this.counts = counts;
    }

    @Override
    void prepare() throws Exception {
      program =
          CFloor.build(
              "gcc",
              "peer_process.c",
              "peer_process",
              List.of("-O2", "-static", "-DGLINT_NATIVE_TEST"),
              SDK_FILES);
      spawner = spawner();
    }

    private int shaSpawns() {
      return Math.max(5, counts.spawns / 5);
    }

    @Override
    void warmUp() throws IOException {
      for (int i = 0; i < counts.spawns; i++) {
        javaHello();
      }
      javaSha();
    }

    /** One hello call: spawn, read the line (the host callback), wait for the exit. */
    private void javaHello() throws IOException {
      Process process =
          new ProcessBuilder(program.toString(), "hello", HELLO_TEXT)
              .redirectError(ProcessBuilder.Redirect.DISCARD)
              .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
              .start();
      try (BufferedReader out =
          new BufferedReader(
              new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        String line = out.readLine();
        if (!HELLO_TEXT.equals(line)) {
          throw new IllegalStateException("peer_process printed " + line);
        }
      }
      waitFor(process);
    }

    /** One SHA-256 call: spawn, send 1 MiB, read the digest, wait for the exit. */
    private void javaSha() throws IOException {
      Process process =
          new ProcessBuilder(program.toString(), "sha256")
              .redirectError(ProcessBuilder.Redirect.DISCARD)
              .start();
      try (OutputStream in = process.getOutputStream()) {
        in.write(work.data);
      }
      String line;
      try (BufferedReader out =
          new BufferedReader(
              new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        line = out.readLine();
      }
      waitFor(process);
      Workload.check(HexFormat.of().parseHex(line), work.digest, name);
    }

    private static void waitFor(Process process) {
      try {
        if (process.waitFor() != 0) {
          throw new IllegalStateException("peer_process exited with " + process.exitValue());
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }

    @Override
    void round(KvmFloorBenchmark.Medians medians) throws Exception {
      long[] hello = new long[counts.spawns];
      for (int i = 0; i < hello.length; i++) {
        long begin = System.nanoTime();
        javaHello();
        hello[i] = System.nanoTime() - begin;
      }
      medians.add("process-java/hello", new Samples("hello", hello).median());
      long[] sha = new long[shaSpawns()];
      for (int i = 0; i < sha.length; i++) {
        long begin = System.nanoTime();
        javaSha();
        sha[i] = System.nanoTime() - begin;
      }
      medians.add("process-java/sha", new Samples("sha", sha).median());

      Map<String, String> c =
          spawn(spawner, "hello", counts.spawns, 0, 0, program.toString(), "hello", HELLO_TEXT);
      if (!c.get("output").equals(HELLO_TEXT.replace(' ', '_'))) {
        throw new IllegalStateException("peer_process printed " + c.get("output"));
      }
      medians.add("process-c/hello", Long.parseLong(c.get("median_ns")));
      medians.add("process/rss", Long.parseLong(c.get("maxrss_kb")) << 10);
      Map<String, String> s =
          spawn(spawner, "sha", shaSpawns(), SHA_BYTES, 0, program.toString(), "sha256");
      Workload.check(HexFormat.of().parseHex(s.get("output")), work.digest, name);
      medians.add("process-c/sha", Long.parseLong(s.get("median_ns")));
      if (notes.isEmpty()) {
        notes.add(
            "process per call: spawned from C, the child peaks at %s KiB (hello) and %s KiB"
                    .formatted(c.get("maxrss_kb"), s.get("maxrss_kb"))
                + " (SHA-256 of 1 MiB) by `wait4`; the spawning C parent itself peaks at %s KiB."
                    .formatted(c.get("parent_maxrss_kb"))
                + " Spawned from the JVM, a child would report at least the JVM's resident set.");
      }
    }

    @Override
    List<Row> rows(KvmFloorBenchmark.Medians medians, Map<String, Long> memory) {
      List<Row> rows = new ArrayList<>();
      for (String from : List.of("java", "c")) {
        Cell rss = unavailable != null ? Cell.text(unavailable) : Cell.bytes(medianRss(medians));
        rows.add(
            new Row(
                "process per call (static C), spawned from "
                    + (from.equals("java") ? "Java (`ProcessBuilder`)" : "C (`posix_spawn`)"),
                time(medians, "process-" + from + "/hello"),
                Cell.text("n/a: every call is a cold start"),
                time(medians, "process-" + from + "/sha").prefixed("n/a; a call:"),
                rss));
      }
      return rows;
    }

    private long medianRss(KvmFloorBenchmark.Medians medians) {
      return medians.medianOf("process/rss");
    }
  }

  /** Compiles the spawner, statically so that its own memory stays small. */
  private static CFloor spawner() throws IOException, InterruptedException {
    return CFloor.compile("spawn_floor", "spawn_floor", List.of("-O2", "-static"), List.of());
  }

  private static Map<String, String> spawn(
      CFloor spawner, String name, int count, int stdinBytes, int status, String... command)
      throws IOException, InterruptedException {
    List<String> args =
        new ArrayList<>(
            List.of(
                name,
                Integer.toString(count),
                Integer.toString(stdinBytes),
                Integer.toString(status)));
    args.addAll(List.of(command));
    Map<String, String> fields = spawner.fields(args.toArray(String[]::new)).get(name);
    if (fields == null) {
      throw new IOException("spawn_floor printed nothing for " + name);
    }
    return fields;
  }

  /** QEMU's microvm machine booting to its first instruction, which ends QEMU. */
  static final class QemuPeer extends Peer {
    /** isa-debug-exit ends QEMU with (value << 1) | 1; the firmware writes 0x21. */
    private static final int EXIT_STATUS = (0x21 << 1) | 1;

    private final String accel;
    private final Counts counts;
    private CFloor spawner;
    private List<String> command;

    QemuPeer(String accel, Counts counts) {
      super("QEMU microvm, " + accel);
      this.accel = accel;
      this.counts = counts;
    }

    @Override
    void prepare() throws Exception {
      Path qemu = onPath("qemu-system-x86_64");
      Path object =
          CFloor.build("gcc", "microvm_firmware.S", "firmware.o", List.of("-c"), List.of());
      Path firmware = object.resolveSibling("firmware.bin");
      CFloor.run(
          List.of(
              "objcopy", "-O", "binary", "-j", ".text", object.toString(), firmware.toString()));
      firmware.toFile().deleteOnExit();
      command =
          List.of(
              qemu.toString(),
              "-M",
              "microvm",
              "-accel",
              accel,
              "-nodefaults",
              "-no-user-config",
              "-display",
              "none",
              "-bios",
              firmware.toString(),
              "-device",
              "isa-debug-exit");
      spawner = spawner();
      notes.add(
          "QEMU (%s): `%s`, exit status %d expected"
              .formatted(
                  accel,
                  String.join(" ", command).replace(firmware.toString(), "firmware.bin"),
                  EXIT_STATUS));
    }

    @Override
    void warmUp() throws Exception {
      boot(2);
    }

    private Map<String, String> boot(int count) throws IOException, InterruptedException {
      return spawn(spawner, "qemu", count, 0, EXIT_STATUS, command.toArray(String[]::new));
    }

    @Override
    void round(KvmFloorBenchmark.Medians medians) throws Exception {
      Map<String, String> fields = boot(counts.slowColds);
      medians.add("qemu-" + accel + "/cold", Long.parseLong(fields.get("median_ns")));
      medians.add("qemu-" + accel + "/rss", Long.parseLong(fields.get("maxrss_kb")) << 10);
    }

    @Override
    List<Row> rows(KvmFloorBenchmark.Medians medians, Map<String, Long> memory) {
      Cell na = Cell.text("n/a: boots, runs nothing");
      return List.of(
          new Row(
              accel.equals("kvm")
                  ? "QEMU 7.2 `microvm`, KVM: spawn, boot to the first instruction, exit"
                  : "QEMU 7.2 `microvm`, TCG (extra: software emulation, no KVM)",
              time(medians, "qemu-" + accel + "/cold"),
              na,
              na,
              unavailable != null
                  ? Cell.text(unavailable)
                  : Cell.bytes(medians.medianOf("qemu-" + accel + "/rss"))));
    }
  }

  private static Path onPath(String command) throws IOException {
    for (String folder : System.getenv().getOrDefault("PATH", "").split(":")) {
      Path candidate = Path.of(folder.isEmpty() ? "." : folder, command);
      if (Files.isExecutable(candidate)) {
        return candidate.toAbsolutePath();
      }
    }
    throw new IOException(command + " is not on the PATH (bin/glint-bench-peers installs it)");
  }

  // ---------------------------------------------------------------------------------------------
  // C floor

  /** The C KVM floor: the same VM work with plain ioctls, and SHA-256 natively. */
  static final class FloorPeer extends Peer {
    private final Counts counts;
    private CFloor kvm;
    private CFloor sha;

    FloorPeer(Counts counts) {
      super("C KVM floor");
      this.counts = counts;
    }

    @Override
    void prepare() throws Exception {
      kvm = CFloor.compile("kvm_floor");
      sha = CFloor.compile("sha256_floor", "sha256_guest", SandboxBenchmark.GUEST_FLAGS, SDK_FILES);
    }

    @Override
    void round(KvmFloorBenchmark.Medians medians) throws Exception {
      medians.add(
          "floor/cold",
          kvm.medians("lifecycle", Integer.toString(counts.colds)).get("create_to_hlt"));
      for (String exit : List.of("exit3", "exit0")) {
        medians.add(
            "floor/" + exit,
            kvm.medians(exit, Integer.toString(counts.calls * 2)).values().iterator().next());
      }
      medians.add("floor/sha", sha.medians(Integer.toString(SHA_BYTES), "5").get("sha256"));
    }

    @Override
    List<Row> rows(KvmFloorBenchmark.Medians medians, Map<String, Long> memory) {
      List<Row> rows = new ArrayList<>();
      for (int cpl : new int[] {3, 0}) {
        Cell hello =
            unavailable != null
                ? Cell.text(unavailable)
                : Cell.nanos(2 * medians.medianOf("floor/exit" + cpl));
        rows.add(
            new Row(
                "C KVM floor, CPL %d (`kvm_floor.c`: create to HLT, 2 × `out` round trip;"
                        .formatted(cpl)
                    + " SHA-256: native C, guest's flags)",
                time(medians, "floor/cold"),
                hello,
                time(medians, "floor/sha"),
                Cell.text("not measured (a loop in one process)")));
      }
      return rows;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Memory

  /** Makes one live instance, ready and called once. */
  private interface Maker {
    Object make() throws Exception;
  }

  /**
   * {@return the memory one live instance adds}, averaged over {@value #INSTANCES} instances alive
   * at once (see the class comment for what is counted)
   */
  static long bytesPerInstance(Maker maker) throws IOException {
    List<Object> live = new ArrayList<>(INSTANCES);
    try {
      close(maker.make()); // the first of a kind may load classes: not counted
      long before = residentBytes();
      for (int i = 0; i < INSTANCES; i++) {
        live.add(maker.make());
      }
      long after = residentBytes();
      return Math.max(0, (after - before) / INSTANCES);
    } catch (IOException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    } finally {
      live.forEach(PeerBenchmark::close);
    }
  }

  private static void close(Object instance) {
    if (instance instanceof AutoCloseable closeable) {
      try {
        closeable.close();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }
  }

  /** Java heap in use after a GC + {@code RssAnon} + resident pages of the vCPU mappings. */
  private static long residentBytes() throws IOException {
    System.gc();
    System.gc();
    Runtime runtime = Runtime.getRuntime();
    long heap = runtime.totalMemory() - runtime.freeMemory();
    long anonymous = 0;
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("RssAnon:")) {
        anonymous = kilobytes(line) << 10;
      }
    }
    long vcpu = 0;
    String mapping = "";
    for (String line : Files.readAllLines(Path.of("/proc/self/smaps"))) {
      if (!line.isEmpty()
          && Character.isLetterOrDigit(line.charAt(0))
          && line.contains("-")
          && !line.endsWith(" kB")) {
        mapping = line;
      } else if (mapping.contains("kvm-vcpu") && line.startsWith("Rss:")) {
        vcpu += kilobytes(line) << 10;
      }
    }
    return heap + anonymous + vcpu;
  }

  private static long kilobytes(String line) {
    return Long.parseLong(line.replaceAll("[^0-9]", ""));
  }

  // ---------------------------------------------------------------------------------------------
  // Table

  /** One line of the table. */
  record Row(String label, Cell cold, Cell hello, Cell sha, Cell memory) {}

  /**
   * One figure with its ratio to the reference row, or only a text where there is no figure.
   *
   * @param value nanoseconds or bytes; negative when there is only {@code text}
   * @param bytes whether {@code value} is bytes
   * @param text what to show instead of, or before, the figure
   * @param perByte when not 0, the figure is for this many bytes of SHA-256 input instead of 1 MiB,
   *     and the ratio is per byte
   * @param note shown after the figure
   */
  record Cell(long value, boolean bytes, String text, int perByte, String note) {
    static Cell nanos(long nanos) {
      return new Cell(nanos, false, null, 0, null);
    }

    static Cell bytes(long bytes) {
      return new Cell(bytes, true, null, 0, null);
    }

    static Cell text(String text) {
      return new Cell(-1, false, text, 0, null);
    }

    Cell perByte(int inputBytes, String what) {
      return value < 0 ? this : new Cell(value, bytes, text, inputBytes, what);
    }

    Cell prefixed(String prefix) {
      return value < 0 ? this : new Cell(value, bytes, prefix, perByte, note);
    }

    String render(Cell reference) {
      if (value < 0) {
        return text;
      }
      StringBuilder out = new StringBuilder();
      if (text != null) {
        out.append(text).append(' ');
      }
      out.append(bytes ? humanBytes(value) : human(value));
      if (note != null) {
        out.append(" (").append(note).append(')');
      }
      if (reference != null && reference.value > 0) {
        double scaled = perByte == 0 ? value : (double) value * SHA_BYTES / perByte;
        out.append(perByte == 0 ? " · ×" : " · per byte ×").append(ratio(scaled / reference.value));
      }
      return out.toString();
    }
  }

  private static void print(Row reference, List<Row> rows) {
    System.out.println();
    System.out.println(
        "| system | cold start | warm call: hello (1 host callback) | warm call: SHA-256 of 1 MiB"
            + " | memory per instance |");
    System.out.println("|---|---|---|---|---|");
    for (Row row : rows) {
      System.out.printf(
          "| %s | %s | %s | %s | %s |%n",
          row.label(),
          row.cold().render(reference.cold()),
          row.hello().render(reference.hello()),
          row.sha().render(reference.sha()),
          row.memory().render(reference.memory()));
    }
  }

  private static String ratio(double ratio) {
    return String.format(
        Locale.ENGLISH, ratio >= 100 ? "%,.0f" : ratio >= 10 ? "%.1f" : "%.2f", ratio);
  }

  private static String human(long nanos) {
    if (nanos >= 10_000_000_000L) {
      return String.format(Locale.ENGLISH, "%.1f s", nanos / 1e9);
    }
    return nanos >= 10_000_000
        ? String.format(Locale.ENGLISH, "%.1f ms", nanos / 1e6)
        : String.format(Locale.ENGLISH, "%.1f µs", nanos / 1e3);
  }

  private static String humanBytes(long bytes) {
    return bytes >= 10L << 20
        ? String.format(Locale.ENGLISH, "%.1f MiB", bytes / 1048576.0)
        : String.format(Locale.ENGLISH, "%.0f KiB", bytes / 1024.0);
  }
}
