package dev.glint.benchmarks;

import dev.glint.guest.SampleGuests;
import dev.glint.sandbox.PrivilegeLevel;
import dev.glint.sandbox.Sandbox;
import dev.glint.sandbox.ValueType;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;

/**
 * The sandbox benchmark (issue 3): the public {@link Sandbox} API beside C floors measured in the
 * same run, at each privilege level.
 *
 * <ul>
 *   <li><b>SHA-256</b>: {@code Sha256(bytes)} of the {@code compute} guest, called end to end
 *       (argument checks, encoding and copying the bytes into the input buffer, the run, decoding
 *       the digest), beside the SDK's own {@code sha256.c} compiled for the host with the guest's
 *       code-generation flags, and with plain {@code -O2}. 1 MiB at CPL 3; at CPL 0, where PVM
 *       emulates every guest instruction, a smaller input.
 *   <li><b>warm call</b>: {@code PrintOutput} of the {@code hello} guest (one host callback and the
 *       return: two exits), beside twice the C {@code out}-exit round trip at the same CPL.
 *   <li><b>build</b>: {@code Sandbox.builder()...build()} of {@code hello} (open the backend, check
 *       the image, create VM, memory and vCPU, write the layout, run the guest's initialization to
 *       READY), and separately {@code close()}, beside the C create floor ({@code kvm_floor
 *       lifecycle}: create VM + 8 MiB + vCPU + run to HLT, and close).
 * </ul>
 *
 * <p>Run with {@code bin/glint-bench-sandbox}. Arguments: {@code [rounds] [calls per round] [builds
 * per round] [levels: user, kernel or both]}. C and Java alternate within each round; the tables
 * show the median of the rounds' medians. Everything is warmed up once before the first round.
 */
public final class SandboxBenchmark {
  private static final int SHA_BYTES_USER = 1 << 20;
  private static final int SHA_BYTES_KERNEL = 4 << 10;
  private static final String HELLO_TEXT = "Hello, Glint!";

  /**
   * The guest's code-generation flags (guest/Makefile, GUEST_CFLAGS and NOSSE) that shape the
   * generated code of sha256.c; the freestanding and linking flags do not change it.
   */
  static final List<String> GUEST_FLAGS =
      List.of(
          "-O2",
          "-march=x86-64",
          "-mtune=generic",
          "-mgeneral-regs-only",
          "-fno-tree-vectorize",
          "-fno-tree-loop-distribute-patterns",
          "-mno-red-zone",
          "-fno-stack-protector",
          "-fcf-protection=none",
          "-fno-pic",
          "-fno-pie",
          "-no-pie",
          "-DGLINT_NATIVE_TEST");

  private static final List<String> PLAIN_FLAGS = List.of("-O2", "-DGLINT_NATIVE_TEST");

  static final List<String> SDK_FILES =
      List.of("sdk/src/sha256.c", "sdk/src/libc.c", "sdk/src/internal.h", "sdk/include/glint.h");

  private SandboxBenchmark() {}

  /**
   * Runs the benchmark and prints one table per privilege level.
   *
   * @param args optional: rounds, calls per round, builds per round, levels ({@code user}, {@code
   *     kernel} or {@code both})
   */
  public static void main(String[] args) throws Exception {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
    int calls = args.length > 1 ? Integer.parseInt(args[1]) : 1000;
    int builds = args.length > 2 ? Integer.parseInt(args[2]) : 100;
    List<PrivilegeLevel> levels =
        switch (args.length > 3 ? args[3] : "both") {
          case "user" -> List.of(PrivilegeLevel.USER);
          case "kernel" -> List.of(PrivilegeLevel.KERNEL);
          case "both" -> List.of(PrivilegeLevel.USER, PrivilegeLevel.KERNEL);
          default -> throw new IllegalArgumentException("levels: user, kernel or both");
        };

    CFloor kvm = CFloor.compile("kvm_floor");
    CFloor shaGuest = CFloor.compile("sha256_floor", "sha256_guest", GUEST_FLAGS, SDK_FILES);
    CFloor shaPlain = CFloor.compile("sha256_floor", "sha256_plain", PLAIN_FLAGS, SDK_FILES);
    byte[] hello = SampleGuests.load(SampleGuests.HELLO);
    byte[] compute = SampleGuests.load(SampleGuests.COMPUTE);

    System.out.printf(
        "%d rounds; per round and level: %d warm calls, %d builds (CPL 0: a tenth as many);"
            + " SHA-256 of %d KiB at CPL 3, %d KiB at CPL 0%n",
        rounds, calls, builds, SHA_BYTES_USER >> 10, SHA_BYTES_KERNEL >> 10);

    // Warm-up: every Java path once, so the rounds measure compiled code, not the JIT.
    for (PrivilegeLevel level : levels) {
      Plan plan = Plan.of(level, calls, builds);
      sha256(compute, level, plan.shaBytes, plan.shaCalls);
      warmCalls(hello, level, plan.calls);
      // The build path runs once per build: it takes a few thousand builds before the JIT has
      // compiled it (the first hundreds cost 2-3 times as much).
      build(hello, level, plan.builds * 20);
    }

    KvmFloorBenchmark.Medians c = new KvmFloorBenchmark.Medians();
    KvmFloorBenchmark.Medians java = new KvmFloorBenchmark.Medians();
    for (int round = 0; round < rounds; round++) {
      c.add(kvm.medians("lifecycle", Integer.toString(builds)));
      for (PrivilegeLevel level : levels) {
        Plan plan = Plan.of(level, calls, builds);
        String p = level.name() + "/";
        String bytes = Integer.toString(plan.shaBytes);
        String shaCount = Integer.toString(plan.shaCalls);
        c.add(p + "sha256_guest", shaGuest.medians(bytes, shaCount).get("sha256"));
        java.add(p + "sha256", sha256(compute, level, plan.shaBytes, plan.shaCalls).median());
        c.add(p + "sha256_plain", shaPlain.medians(bytes, shaCount).get("sha256"));
        String exit = level == PrivilegeLevel.USER ? "exit3" : "exit0";
        c.add(
            p + "exit", kvm.medians(exit, Integer.toString(plan.calls)).values().iterator().next());
        java.add(p + "call", warmCalls(hello, level, plan.calls).median());
        Samples[] lifecycle = build(hello, level, plan.builds);
        java.add(p + "build", lifecycle[0].median());
        java.add(p + "close", lifecycle[1].median());
      }
    }

    for (PrivilegeLevel level : levels) {
      Plan plan = Plan.of(level, calls, builds);
      String p = level.name() + "/";
      String size =
          plan.shaBytes >= 1 << 20
              ? (plan.shaBytes >> 20) + " MiB"
              : (plan.shaBytes >> 10) + " KiB";
      System.out.printf("%n### %s (CPL %d)%n%n", level, level.cpl());
      System.out.println("| measurement | C floor (median) | Glint (median) | Glint/C | goal |");
      System.out.println("|---|---:|---:|---:|---|");
      boolean goals = level == PrivilegeLevel.USER;
      row(
          "SHA-256 of " + size + ", `Sha256(bytes)` end to end vs C with the guest's flags",
          c.medianOf(p + "sha256_guest"),
          java.medianOf(p + "sha256"),
          goals ? 1.1 : 0);
      row(
          "SHA-256 of " + size + " vs C with plain `gcc -O2`",
          c.medianOf(p + "sha256_plain"),
          java.medianOf(p + "sha256"),
          0);
      row(
          "warm call `PrintOutput` (2 exits) vs 2 × `out` round trip",
          2 * c.medianOf(p + "exit"),
          java.medianOf(p + "call"),
          1.5);
      row(
          "build (`builder()...build()` to READY) vs C create to HLT",
          c.medianOf("create_to_hlt"),
          java.medianOf(p + "build"),
          2.0);
      row("close vs C close", c.medianOf("close"), java.medianOf(p + "close"), 0);
    }
  }

  /** How much of each measurement one round does at a level. */
  private record Plan(int shaBytes, int shaCalls, int calls, int builds) {
    static Plan of(PrivilegeLevel level, int calls, int builds) {
      // At CPL 0 on PVM every guest instruction is emulated (about 4,000 times slower): a small
      // input, fewer calls and fewer builds keep a round in seconds.
      return level == PrivilegeLevel.USER
          ? new Plan(SHA_BYTES_USER, 9, calls, builds)
          : new Plan(SHA_BYTES_KERNEL, 3, calls, Math.max(10, builds / 10));
    }
  }

  private static void row(String label, long cNanos, long javaNanos, double goal) {
    double ratio = (double) javaNanos / cNanos;
    String target =
        goal == 0
            ? "—"
            : String.format(
                Locale.ENGLISH, "≤ %.1f %s", goal, ratio <= goal ? "(met)" : "(NOT met)");
    System.out.printf(
        Locale.ENGLISH,
        "| %s | %s | %s | %.2f | %s |%n",
        label,
        human(cNanos),
        human(javaNanos),
        ratio,
        target);
  }

  private static String human(long nanos) {
    return nanos >= 10_000_000
        ? String.format(Locale.ENGLISH, "%.1f ms", nanos / 1e6)
        : String.format(Locale.ENGLISH, "%.1f µs", nanos / 1e3);
  }

  /**
   * Times {@code count} calls of {@code Sha256} over {@code size} pattern bytes, after a warm-up.
   */
  static Samples sha256(byte[] guest, PrivilegeLevel level, int size, int count)
      throws NoSuchAlgorithmException {
    byte[] data = new byte[size];
    for (int i = 0; i < size; i++) {
      data[i] = (byte) (i * 31 + 7);
    }
    byte[] expected = MessageDigest.getInstance("SHA-256").digest(data);
    long[] nanos = new long[count];
    try (Sandbox sandbox = Sandbox.builder().guest(guest).privilegeLevel(level).build()) {
      int warmup = count / 10 + 1;
      for (int i = 0; i < count + warmup; i++) {
        long start = System.nanoTime();
        byte[] digest = sandbox.call("Sha256", ValueType.BYTES, (Object) data);
        long end = System.nanoTime();
        if (!Arrays.equals(digest, expected)) {
          throw new IllegalStateException(
              "Sha256 gave %s, expected %s"
                  .formatted(HexFormat.of().formatHex(digest), HexFormat.of().formatHex(expected)));
        }
        if (i >= warmup) {
          nanos[i - warmup] = end - start;
        }
      }
    }
    return new Samples("sha256", nanos);
  }

  /** Times {@code count} warm calls of {@code PrintOutput}, after a tenth as many for warm-up. */
  static Samples warmCalls(byte[] guest, PrivilegeLevel level, int count) {
    int[] printed = new int[1];
    long[] nanos = new long[count];
    try (Sandbox sandbox =
        Sandbox.builder()
            .guest(guest)
            .privilegeLevel(level)
            .printTo(text -> printed[0] += text.length())
            .build()) {
      int warmup = count / 10 + 1;
      for (int i = 0; i < count + warmup; i++) {
        long start = System.nanoTime();
        int written = sandbox.call("PrintOutput", ValueType.I32, HELLO_TEXT);
        long end = System.nanoTime();
        if (written != HELLO_TEXT.length()) {
          throw new IllegalStateException("PrintOutput returned " + written);
        }
        if (i >= warmup) {
          nanos[i - warmup] = end - start;
        }
      }
    }
    return new Samples("call", nanos);
  }

  /**
   * Times {@code count} builds of a sandbox to READY and, separately, their closes, after a tenth
   * as many for warm-up; returns {build, close}.
   */
  static Samples[] build(byte[] guest, PrivilegeLevel level, int count) {
    int warmup = count / 10 + 1;
    long[] build = new long[count];
    long[] close = new long[count];
    for (int i = 0; i < count + warmup; i++) {
      long start = System.nanoTime();
      Sandbox sandbox =
          Sandbox.builder().guest(guest).privilegeLevel(level).printTo(text -> {}).build();
      long built = System.nanoTime();
      sandbox.close();
      long closed = System.nanoTime();
      if (i >= warmup) {
        build[i - warmup] = built - start;
        close[i - warmup] = closed - built;
      }
    }
    return new Samples[] {new Samples("build", build), new Samples("close", close)};
  }
}
