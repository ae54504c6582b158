package dev.glint.benchmarks;

import dev.glint.guest.SampleGuests;
import dev.glint.sandbox.CallTimeoutException;
import dev.glint.sandbox.PrivilegeLevel;
import dev.glint.sandbox.Sandbox;
import dev.glint.sandbox.SandboxPool;
import dev.glint.sandbox.Snapshot;
import dev.glint.sandbox.ValueType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The snapshot benchmark (issue 4), at CPL 3, every figure beside its floor in the same run.
 *
 * <ul>
 *   <li><b>restore</b>: {@code restore(snapshot)} after a call of the {@code state} guest's {@code
 *       TouchPages(1)} (one data page, plus the stack and output-buffer pages every call writes),
 *       on the smallest sandbox that guest fits in (6 MiB: the ABI puts the image at 2 MiB and the
 *       heap at the next 2 MiB boundary, so a 1 MiB sandbox cannot exist) and on a 256 MiB one
 *       whose heap fills the memory. Goal: 256 MiB / 6 MiB ≤ 1.3 and under 30 µs.
 *   <li><b>start from a snapshot</b>: {@code Sandbox.builder().snapshot(s).build()} of {@code
 *       hello}, beside the C create floor ({@code kvm_floor lifecycle}: create VM + 8 MiB + vCPU +
 *       run to HLT). Goal ≤ 1.5.
 *   <li><b>pool call</b>: {@code pool.call("PrintOutput", ...)} of a {@link SandboxPool} of {@code
 *       hello} (acquire, call, release with its restore), beside the same call on a plain warm
 *       sandbox. Goal ≤ 1.2.
 *   <li><b>resident memory per idle sandbox</b>: the growth of the process's resident set per
 *       sandbox started from a {@code hello} snapshot, each having run one call and been restored.
 *       Goal ≤ 256 KiB beyond the shared snapshot.
 *   <li><b>timeout precision</b>: how long after its deadline a call of {@code Spin} (an endless
 *       loop without exits) returns {@link CallTimeoutException}. Goal: within 10 ms. Beside it,
 *       how long {@code interrupt()} from another thread takes to make such a call return, and the
 *       C floor of the same ({@code kvm_floor kick3}: {@code immediate_exit} and a signal to the
 *       vCPU thread, until {@code KVM_RUN} returns).
 * </ul>
 *
 * <p>Run with {@code bin/glint-bench-snapshot [rounds] [samples per round]}.
 */
public final class SnapshotBenchmark {
  private static final long SMALL = 6L << 20;
  private static final long LARGE = 256L << 20;
  private static final int IDLE_SANDBOXES = 200;
  private static final String HELLO_TEXT = "Hello, Glint!";

  private SnapshotBenchmark() {}

  /**
   * Runs the benchmark and prints the table.
   *
   * @param args optional: rounds, samples per round
   */
  public static void main(String[] args) throws Exception {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
    int samples = args.length > 1 ? Integer.parseInt(args[1]) : 2000;
    CFloor kvm = CFloor.compile("kvm_floor");
    byte[] state = SampleGuests.load(SampleGuests.STATE);
    byte[] hello = SampleGuests.load(SampleGuests.HELLO);
    System.out.printf("%d rounds of %d samples each, CPL 3%n", rounds, samples);

    try (Sandbox small = stateSandbox(state, SMALL);
        Sandbox large = stateSandbox(state, LARGE);
        Snapshot smallSnapshot = small.snapshot();
        Snapshot largeSnapshot = large.snapshot();
        Sandbox template = helloBuilder(hello).build();
        Snapshot helloSnapshot = template.snapshot();
        Sandbox warm = helloBuilder(hello).build();
        SandboxPool pool = SandboxPool.builder(helloBuilder(hello)).minIdle(1).maxSize(1).build()) {
      // Warm-up: every path once, so the rounds measure compiled code.
      restores(small, smallSnapshot, samples * 5);
      restores(large, largeSnapshot, samples * 5);
      startsFromSnapshot(helloSnapshot, samples * 2);
      warmCalls(warm, samples * 5);
      poolCalls(pool, samples * 5);

      KvmFloorBenchmark.Medians c = new KvmFloorBenchmark.Medians();
      KvmFloorBenchmark.Medians java = new KvmFloorBenchmark.Medians();
      List<Long> overshoots = new ArrayList<>();
      for (int round = 0; round < rounds; round++) {
        c.add(kvm.medians("lifecycle", Integer.toString(Math.max(100, samples / 10))));
        java.add("restore small", restores(small, smallSnapshot, samples).median());
        java.add("restore large", restores(large, largeSnapshot, samples).median());
        java.add("from snapshot", startsFromSnapshot(helloSnapshot, samples / 10).median());
        java.add("warm call", warmCalls(warm, samples).median());
        java.add("pool call", poolCalls(pool, samples).median());
        overshoots.addAll(timeoutOvershoots(small, smallSnapshot, 5));
        c.add(kvm.medians("kick3", "50"));
        java.add("interrupt", interruptLatencies(small, smallSnapshot, 50).median());
      }
      long rssPerSandbox = residentBytesPerIdleSandbox(helloSnapshot, IDLE_SANDBOXES);

      long restoreSmall = java.medianOf("restore small");
      long restoreLarge = java.medianOf("restore large");
      System.out.println();
      System.out.println("| measurement | floor | Glint | ratio | goal |");
      System.out.println("|---|---:|---:|---:|---|");
      row(
          "restore after a one-page call: 256 MiB sandbox vs 6 MiB sandbox",
          human(restoreSmall),
          human(restoreLarge),
          (double) restoreLarge / restoreSmall,
          "≤ 1.3 and < 30 µs",
          (double) restoreLarge / restoreSmall <= 1.3 && restoreLarge < 30_000);
      long create = c.medianOf("create_to_hlt");
      long fromSnapshot = java.medianOf("from snapshot");
      row(
          "new sandbox from a snapshot vs C create to HLT",
          human(create),
          human(fromSnapshot),
          (double) fromSnapshot / create,
          "≤ 1.5",
          (double) fromSnapshot / create <= 1.5);
      long warmCall = java.medianOf("warm call");
      long poolCall = java.medianOf("pool call");
      row(
          "pool acquire + `PrintOutput` + release (restore) vs the call on a warm sandbox",
          human(warmCall),
          human(poolCall),
          (double) poolCall / warmCall,
          "≤ 1.2",
          (double) poolCall / warmCall <= 1.2);
      System.out.printf(
          Locale.ENGLISH,
          "| resident memory per idle sandbox from a `hello` snapshot (%d sandboxes) | — | %.0f KiB"
              + " | — | ≤ 256 KiB %s |%n",
          IDLE_SANDBOXES,
          rssPerSandbox / 1024.0,
          rssPerSandbox <= 256 << 10 ? "(met)" : "(NOT met)");
      long kick = c.medianOf("kick_cpl3");
      long interrupt = java.medianOf("interrupt");
      row(
          "`interrupt()` from another thread until a spinning call returns vs C kick floor",
          human(kick),
          human(interrupt),
          (double) interrupt / kick,
          "—",
          true);
      Samples late = new Samples("overshoot", overshoots.stream().mapToLong(v -> v).toArray());
      System.out.printf(
          Locale.ENGLISH,
          "| timeout: call returns after its deadline (`Spin`, %d calls), median / max | — | %s /"
              + " %s | — | ≤ 10 ms %s |%n",
          overshoots.size(),
          human(late.median()),
          human(late.percentile(0.9999)),
          late.percentile(0.9999) <= 10_000_000 ? "(met)" : "(NOT met)");
    }
  }

  private static void row(
      String label, String floor, String glint, double ratio, String goal, boolean met) {
    System.out.printf(
        Locale.ENGLISH,
        "| %s | %s | %s | %.2f | %s %s |%n",
        label,
        floor,
        glint,
        ratio,
        goal,
        met ? "(met)" : "(NOT met)");
  }

  private static Sandbox stateSandbox(byte[] guest, long memory) {
    // The heap takes what the image, buffers and stack leave: the memory is all usable.
    long buffers = 64 << 10;
    long stack = 64 << 10;
    long heap = memory - (4L << 20) - 2 * buffers - stack - (64 << 10);
    return Sandbox.builder()
        .guest(guest)
        .privilegeLevel(PrivilegeLevel.USER)
        .memorySize(memory)
        .heapSize(heap)
        .inputBufferSize(buffers)
        .outputBufferSize(buffers)
        .stackSize(stack)
        .build();
  }

  private static Sandbox.Builder helloBuilder(byte[] hello) {
    return Sandbox.builder().guest(hello).privilegeLevel(PrivilegeLevel.USER).printTo(text -> {});
  }

  /** Times {@code count} restores, each after a call that writes one data page. */
  static Samples restores(Sandbox sandbox, Snapshot snapshot, int count) {
    long[] nanos = new long[count];
    for (int i = 0; i < count; i++) {
      int touched = sandbox.call("TouchPages", ValueType.I32, 1);
      if (touched != 1) {
        throw new IllegalStateException("TouchPages returned " + touched);
      }
      long start = System.nanoTime();
      sandbox.restore(snapshot);
      nanos[i] = System.nanoTime() - start;
    }
    if (sandbox.call("Counter", ValueType.I64) != 0L) {
      throw new IllegalStateException("the restore did not restore");
    }
    return new Samples("restore", nanos);
  }

  /** Times {@code count} calls of hello's {@code PrintOutput} on a warm sandbox. */
  static Samples warmCalls(Sandbox sandbox, int count) {
    long[] nanos = new long[count];
    for (int i = 0; i < count; i++) {
      long start = System.nanoTime();
      int written = sandbox.call("PrintOutput", ValueType.I32, HELLO_TEXT);
      nanos[i] = System.nanoTime() - start;
      check(written);
    }
    return new Samples("warm call", nanos);
  }

  /** Times {@code count} pool calls of hello's {@code PrintOutput}: acquire, call, release. */
  static Samples poolCalls(SandboxPool pool, int count) throws InterruptedException {
    long[] nanos = new long[count];
    for (int i = 0; i < count; i++) {
      long start = System.nanoTime();
      int written = pool.call("PrintOutput", ValueType.I32, HELLO_TEXT);
      nanos[i] = System.nanoTime() - start;
      check(written);
    }
    return new Samples("pool call", nanos);
  }

  private static void check(int written) {
    if (written != HELLO_TEXT.length()) {
      throw new IllegalStateException("PrintOutput returned " + written);
    }
  }

  /** Times {@code count} sandboxes started from {@code snapshot} (closing them is not timed). */
  static Samples startsFromSnapshot(Snapshot snapshot, int count) {
    long[] nanos = new long[count];
    for (int i = 0; i < count; i++) {
      long start = System.nanoTime();
      Sandbox sandbox = Sandbox.builder().snapshot(snapshot).printTo(text -> {}).build();
      nanos[i] = System.nanoTime() - start;
      sandbox.close();
    }
    return new Samples("from snapshot", nanos);
  }

  /** {@return how long after their deadline {@code count} timed-out calls of Spin returned} */
  static List<Long> timeoutOvershoots(Sandbox sandbox, Snapshot snapshot, int count) {
    Duration timeout = Duration.ofMillis(20);
    List<Long> late = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      long start = System.nanoTime();
      try {
        sandbox.call(timeout, "Spin", ValueType.VOID);
        throw new IllegalStateException("Spin returned");
      } catch (CallTimeoutException expected) {
        late.add(System.nanoTime() - start - timeout.toNanos());
      }
      sandbox.restore(snapshot);
    }
    return late;
  }

  /**
   * Times {@code count} interrupted calls of Spin: from the first {@code interrupt()} to the call's
   * return. The interrupting thread starts once the call is under way and repeats the interrupt
   * every 2 ms until the call returns (an interrupt before the call starts does nothing).
   */
  static Samples interruptLatencies(Sandbox sandbox, Snapshot snapshot, int count)
      throws InterruptedException {
    long[] nanos = new long[count];
    var handle = sandbox.interruptHandle();
    for (int i = 0; i < count; i++) {
      java.util.concurrent.atomic.AtomicLong first = new java.util.concurrent.atomic.AtomicLong();
      java.util.concurrent.atomic.AtomicBoolean done =
          new java.util.concurrent.atomic.AtomicBoolean();
      Thread interrupter =
          Thread.ofPlatform()
              .start(
                  () -> {
                    java.util.concurrent.locks.LockSupport.parkNanos(5_000_000);
                    while (!done.get()) {
                      first.compareAndSet(0, System.nanoTime());
                      handle.interrupt();
                      java.util.concurrent.locks.LockSupport.parkNanos(2_000_000);
                    }
                  });
      try {
        sandbox.call("Spin", ValueType.VOID);
        throw new IllegalStateException("Spin returned");
      } catch (dev.glint.sandbox.ExecutionCancelledException expected) {
        nanos[i] = System.nanoTime() - first.get();
      } finally {
        done.set(true);
        interrupter.join();
      }
      sandbox.restore(snapshot);
    }
    return new Samples("interrupt", nanos);
  }

  /**
   * {@return the memory one idle sandbox adds beyond the shared snapshot, in bytes}: {@code count}
   * sandboxes from {@code snapshot}, each called once and restored, then idle. Counted from {@code
   * /proc/self/smaps}: the private (anonymous) pages of guest-memory mappings (the copies a sandbox
   * made of snapshot pages; the snapshot's own pages in the page cache are shared and not counted),
   * the resident pages of the vCPU mappings ({@code kvm_run}, dirty ring), plus the growth of the
   * Java heap after a GC. VmRSS would count each shared snapshot page once per sandbox that maps
   * it.
   */
  static long residentBytesPerIdleSandbox(Snapshot snapshot, int count) throws IOException {
    List<Sandbox> sandboxes = new ArrayList<>(count);
    try {
      long before = sandboxBytes();
      for (int i = 0; i < count; i++) {
        Sandbox sandbox = Sandbox.builder().snapshot(snapshot).printTo(text -> {}).build();
        sandboxes.add(sandbox);
        sandbox.call("PrintOutput", ValueType.I32, "Hello, Glint!");
        sandbox.restore(snapshot);
      }
      return (sandboxBytes() - before) / count;
    } finally {
      sandboxes.forEach(Sandbox::close);
    }
  }

  /** {@return the bytes counted by {@link #residentBytesPerIdleSandbox}, for the whole process} */
  static long sandboxBytes() throws IOException {
    System.gc();
    Runtime runtime = Runtime.getRuntime();
    long heap = runtime.totalMemory() - runtime.freeMemory();
    long mapped = 0;
    String mapping = "";
    for (String line : Files.readAllLines(Path.of("/proc/self/smaps"))) {
      if (!line.isEmpty()
          && Character.isLetterOrDigit(line.charAt(0))
          && line.contains("-")
          && !line.endsWith(" kB")) {
        mapping = line;
      } else if (mapping.contains("glint-image") && line.startsWith("Anonymous:")) {
        mapped += kilobytes(line) * 1024;
      } else if (mapping.contains("kvm-vcpu") && line.startsWith("Rss:")) {
        mapped += kilobytes(line) * 1024;
      }
    }
    return heap + mapped;
  }

  private static long kilobytes(String smapsLine) {
    return Long.parseLong(smapsLine.replaceAll("[^0-9]", ""));
  }

  private static String human(long nanos) {
    return nanos >= 10_000_000
        ? String.format(Locale.ENGLISH, "%.1f ms", nanos / 1e6)
        : String.format(Locale.ENGLISH, "%.1f µs", nanos / 1e3);
  }
}
