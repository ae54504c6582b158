package dev.glint.benchmarks;

import dev.glint.guest.SampleGuests;
import dev.glint.hv.Availability;
import dev.glint.hv.spi.HypervisorProvider;
import dev.glint.hv.spi.Hypervisors;
import dev.glint.sandbox.PrivilegeLevel;
import dev.glint.sandbox.Sandbox;
import dev.glint.sandbox.ValueType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Guest instructions per second (issue 6 item 5): the {@code compute} guest's {@code Sha256(bytes)}
 * on the emulated backend, beside the same guest on KVM at CPL 3 (native on PVM) and CPL 0
 * (emulated by KVM on PVM), measured in the same run.
 *
 * <p><b>How instructions are counted</b> (no hardware counters here, so no {@code perf}): the guest
 * SDK's SHA-256 is compiled for the host with the guest's code-generation flags ({@code
 * count_steps.c}), and a parent process single-steps one digest with {@code ptrace}, one step per
 * user-mode instruction. SHA-256's instruction count is affine in the number of 64-byte blocks (its
 * control flow does not depend on the data), so two sizes give the constant and the per-block
 * count, and a third checks them exactly. The benchmark also checks that the host build's machine
 * code of the SHA-256 functions is the compute guest's, instruction by instruction (with {@code
 * objdump}, addresses aside), so the count is the guest's. Not counted: the guest's call dispatch
 * around the digest (decoding the call record, writing the result), a few hundred instructions
 * against tens of millions.
 *
 * <p>Each row times {@code Sha256} calls end to end through the sandbox, so exits and copying the
 * input in are included; the input size is chosen per row so that a call takes about a second (1
 * MiB at most). Run with {@code bin/glint-bench-emulated [rounds] [seconds per call]}.
 */
public final class EmulatedBenchmark {
  private static final int MAX_BYTES = 1 << 20;
  private static final int MIN_BYTES = 4 << 10;

  private static final List<String> SHA_FUNCTIONS =
      List.of(
          "compress",
          "glint_sha256",
          "glint_sha256_init",
          "glint_sha256_update",
          "glint_sha256_final",
          "memcpy");

  private EmulatedBenchmark() {}

  /**
   * Runs the benchmark and prints the table.
   *
   * @param args optional: rounds (timed calls per row, default 5), seconds a call should take
   *     (default 1.0)
   */
  public static void main(String[] args) throws Exception {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
    double seconds = args.length > 1 ? Double.parseDouble(args[1]) : 1.0;
    byte[] compute = SampleGuests.load(SampleGuests.COMPUTE);

    List<String> flags = new ArrayList<>(SandboxBenchmark.GUEST_FLAGS);
    flags.add("-Wl,-z,now"); // no lazy binding inside the stepped region
    CFloor counter =
        CFloor.compile("count_steps", "count_steps", flags, SandboxBenchmark.SDK_FILES);
    InstructionCount count = InstructionCount.measure(counter);
    Optional<String> codeDifference = compareCode(counter.executable(), compute);
    System.out.printf(
        Locale.ENGLISH,
        "instructions of Sha256(n bytes), n a multiple of 64: %d + %d per 64-byte block"
            + " (single-stepped with ptrace, checked at a third size)%n",
        count.constant(),
        count.perBlock());
    System.out.println(
        codeDifference
            .map(
                d ->
                    "WARNING: the host build's SHA-256 differs from the guest's ("
                        + d
                        + ");"
                        + " the counts are approximate")
            .orElse("the host build's SHA-256 is the compute guest's, instruction by instruction"));

    List<Row> rows = new ArrayList<>();
    rows.add(measure("kvm", PrivilegeLevel.USER, compute, count, rounds, seconds));
    rows.add(measure("kvm", PrivilegeLevel.KERNEL, compute, count, rounds, seconds));
    rows.add(measure("emulated", PrivilegeLevel.USER, compute, count, rounds, seconds));
    rows.add(measure("emulated", PrivilegeLevel.KERNEL, compute, count, rounds, seconds));

    double kvmUser = rows.getFirst().instructionsPerSecond();
    System.out.printf(
        "%n| backend | guest level | input | instructions per call | call (median of %d) |"
            + " instructions/s | vs KVM CPL 3 | goal |%n",
        rounds);
    System.out.println("|---|---|---:|---:|---:|---:|---:|---|");
    for (Row row : rows) {
      if (row.unavailable() != null) {
        System.out.printf(
            "| %s | CPL %d | — | — | — | — | — | unavailable: %s |%n",
            row.backend(), row.level().cpl(), row.unavailable());
        continue;
      }
      String goal =
          row.backend().equals("emulated")
              ? (row.instructionsPerSecond() >= 100e6 ? "≥ 100 M/s (met)" : "≥ 100 M/s (NOT met)")
              : "—";
      System.out.printf(
          Locale.ENGLISH,
          "| %s | CPL %d | %s | %,d | %s | %s | %.4f | %s |%n",
          row.backend(),
          row.level().cpl(),
          row.bytes() >= 1 << 20 ? (row.bytes() >> 20) + " MiB" : (row.bytes() >> 10) + " KiB",
          row.instructions(),
          human(row.medianNanos()),
          rate(row.instructionsPerSecond()),
          row.instructionsPerSecond() / kvmUser,
          goal);
    }
  }

  /**
   * One row.
   *
   * @param backend the backend's name
   * @param level the guest's privilege level
   * @param bytes the input size of each call
   * @param instructions the guest instructions of one call's digest
   * @param medianNanos the median call time
   * @param unavailable why the row could not be measured, or null
   */
  record Row(
      String backend,
      PrivilegeLevel level,
      int bytes,
      long instructions,
      long medianNanos,
      String unavailable) {
    double instructionsPerSecond() {
      return instructions * 1e9 / medianNanos;
    }
  }

  private static Row measure(
      String backend,
      PrivilegeLevel level,
      byte[] compute,
      InstructionCount count,
      int rounds,
      double seconds)
      throws NoSuchAlgorithmException {
    Optional<HypervisorProvider> provider = Hypervisors.provider(backend);
    if (provider.isEmpty()) {
      return new Row(backend, level, 0, 0, 1, "not on the module path");
    }
    if (provider.get().probe() instanceof Availability.Unavailable(String reason, var cause)) {
      return new Row(backend, level, 0, 0, 1, reason);
    }
    try (Sandbox sandbox =
        Sandbox.builder().guest(compute).backend(backend).privilegeLevel(level).build()) {
      // Calibrate: double the input until a call takes a quarter of `seconds` (so the fixed cost
      // of a call is small beside the digest), then scale to `seconds`.
      int probeBytes = MIN_BYTES;
      time(sandbox, probeBytes); // the first calls pay for class loading and the JIT
      time(sandbox, probeBytes);
      long probe = time(sandbox, probeBytes);
      while (probe < seconds * 0.25e9 && probeBytes < MAX_BYTES) {
        probeBytes *= 2;
        probe = time(sandbox, probeBytes);
      }
      double perByte = (double) probe / probeBytes;
      int bytes = (int) Math.min(MAX_BYTES, Math.max(MIN_BYTES, seconds * 1e9 / perByte));
      bytes &= ~63;
      time(sandbox, bytes); // warm-up at the measured size
      long[] nanos = new long[rounds];
      for (int i = 0; i < rounds; i++) {
        nanos[i] = time(sandbox, bytes);
      }
      Arrays.sort(nanos);
      return new Row(backend, level, bytes, count.of(bytes), nanos[rounds / 2], null);
    } catch (RuntimeException e) {
      return new Row(backend, level, 0, 0, 1, e.toString());
    }
  }

  /** Times one {@code Sha256} call of {@code size} pattern bytes and checks its digest. */
  private static long time(Sandbox sandbox, int size) throws NoSuchAlgorithmException {
    byte[] data = new byte[size];
    for (int i = 0; i < size; i++) {
      data[i] = (byte) (i * 31 + 7);
    }
    byte[] expected = MessageDigest.getInstance("SHA-256").digest(data);
    long start = System.nanoTime();
    byte[] digest = sandbox.call("Sha256", ValueType.BYTES, (Object) data);
    long end = System.nanoTime();
    if (!Arrays.equals(digest, expected)) {
      throw new IllegalStateException(
          "Sha256 of %d bytes on %s gave a wrong digest".formatted(size, sandbox.backend()));
    }
    return end - start;
  }

  /**
   * The instruction count of {@code glint_sha256} for inputs that are whole 64-byte blocks.
   *
   * @param constant the instructions independent of the size
   * @param perBlock the instructions per 64-byte block
   */
  record InstructionCount(long constant, long perBlock) {
    long of(int bytes) {
      return constant + perBlock * (bytes / 64);
    }

    /** Steps two sizes for the line, and a third to check it; fails if it is not exact. */
    static InstructionCount measure(CFloor counter) throws IOException, InterruptedException {
      long small = steps(counter, 1024);
      long large = steps(counter, 2048);
      long perBlock = (large - small) / 16;
      InstructionCount count = new InstructionCount(small - 16 * perBlock, perBlock);
      long check = steps(counter, 3072);
      if (check != count.of(3072)) {
        throw new IOException(
            "the instruction count is not affine in the blocks: %d at 3 KiB, predicted %d"
                .formatted(check, count.of(3072)));
      }
      return count;
    }

    private static long steps(CFloor counter, int bytes) throws IOException, InterruptedException {
      Map<String, String> fields = counter.fields(Integer.toString(bytes)).get("steps");
      if (fields == null || !fields.containsKey("instructions")) {
        throw new IOException("count_steps printed no count for " + bytes + " bytes");
      }
      return Long.parseLong(fields.get("instructions"));
    }
  }

  /**
   * Compares the SHA-256 functions of the host build and of the compute guest with objdump,
   * addresses and the test build's name prefix aside. {@return the first difference, or empty}
   */
  static Optional<String> compareCode(Path hostExecutable, byte[] computeGuest)
      throws IOException, InterruptedException {
    Path guest = Files.createTempFile("glint-compute", ".elf");
    try {
      Files.write(guest, computeGuest);
      for (String function : SHA_FUNCTIONS) {
        String hostName = function.equals("memcpy") ? "glint_test_memcpy" : function;
        List<String> host = disassemble(hostExecutable, hostName);
        List<String> inGuest = disassemble(guest, function);
        if (host.isEmpty() || inGuest.isEmpty()) {
          return Optional.of("no " + function + " in one of the builds");
        }
        if (!host.equals(inGuest)) {
          for (int i = 0; i < Math.min(host.size(), inGuest.size()); i++) {
            if (!host.get(i).equals(inGuest.get(i))) {
              return Optional.of(
                  "%s, instruction %d: %s vs %s"
                      .formatted(function, i, host.get(i), inGuest.get(i)));
            }
          }
          return Optional.of(
              "%s: %d vs %d instructions".formatted(function, host.size(), inGuest.size()));
        }
      }
      return Optional.empty();
    } finally {
      Files.deleteIfExists(guest);
    }
  }

  /** The function's instructions with addresses, branch targets and RIP offsets taken out. */
  private static List<String> disassemble(Path file, String function)
      throws IOException, InterruptedException {
    String output =
        CFloor.run(
            List.of(
                "objdump",
                "-d",
                "--no-show-raw-insn",
                "-M",
                "intel",
                "--disassemble=" + function,
                file.toString()));
    List<String> lines = new ArrayList<>();
    for (String line : output.split("\n")) {
      if (!line.matches("\\s+[0-9a-f]+:\t.*")) {
        continue;
      }
      String text = line.substring(line.indexOf('\t') + 1).strip();
      text = text.replaceAll("\\b[0-9a-f]+ <", "<"); // branch and call targets: symbol only
      text = text.replaceAll("<[^>+]*?glint_test_", "<");
      text = text.replaceAll("\\+0x[0-9a-f]+>", ">"); // offsets inside functions may shift
      text = text.replaceAll("\\[rip\\+0x[0-9a-f]+\\]", "[rip]");
      // Absolute addresses of data (the round constants; the code is not position-independent).
      text = text.replaceAll("\\+0x[0-9a-f]{5,}\\]", "+address]");
      text = text.replaceAll("#\\s*[0-9a-f]+", "#");
      lines.add(text.replaceAll("\\s+", " "));
    }
    return lines;
  }

  private static String human(long nanos) {
    return nanos >= 10_000_000
        ? String.format(Locale.ENGLISH, "%.1f ms", nanos / 1e6)
        : String.format(Locale.ENGLISH, "%.1f µs", nanos / 1e3);
  }

  private static String rate(double perSecond) {
    return perSecond >= 1e9
        ? String.format(Locale.ENGLISH, "%.2f G", perSecond / 1e9)
        : String.format(Locale.ENGLISH, "%.1f M", perSecond / 1e6);
  }
}
