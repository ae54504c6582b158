package dev.glint.benchmarks;

import dev.glint.guest.SampleGuests;
import dev.glint.sandbox.Sandbox;
import dev.glint.sandbox.SandboxPool;
import dev.glint.sandbox.ValueType;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.management.ObjectName;

/**
 * The soak (issue 8, {@code docs/reliability.md}): many create/call/close cycles, then many pooled
 * calls, while the process's open file descriptors, native memory (Native Memory Tracking's total
 * committed, read through the same diagnostic command as {@code jcmd PID VM.native_memory
 * summary}), Java heap after a GC and resident set are sampled at intervals. Prints a table per
 * phase and a verdict: a phase fails if, from the sample after its warm-up to the end (the least of
 * the last three samples, so one spike does not count), descriptors grew by more than 2, native
 * memory by more than 16 MiB or the heap by more than 16 MiB. Exits 1 on failure.
 *
 * <p>Run with {@code bin/glint-soak [cycles] [pooled calls] [threads] [backend]} (defaults 100,000,
 * 1,000,000, 4, and the backend Glint picks), which turns Native Memory Tracking on. Every call's
 * result is checked: {@code EchoI32}/{@code EchoI64} of the {@code echo} guest return their
 * argument.
 */
public final class Soak {
  private static final int SAMPLES = 20;
  private static final long FD_NOISE = 2;
  private static final long NATIVE_NOISE_KB = 16 << 10;
  private static final long HEAP_NOISE_KB = 16 << 10;
  private static final long MAPS_NOISE = 16;
  private static final long RSS_NOISE_KB = 64 << 10;

  private Soak() {}

  /** One sample of the process's resources. */
  record Sample(
      long done, long fds, long maps, long nativeKb, long heapKb, long rssKb, long millis) {}

  /**
   * Runs the soak.
   *
   * @param args [cycles] [pooled calls] [threads] [backend]
   */
  public static void main(String[] args) throws Exception {
    long cycles = args.length > 0 ? Long.parseLong(args[0]) : 100_000;
    long pooled = args.length > 1 ? Long.parseLong(args[1]) : 1_000_000;
    int threads = args.length > 2 ? Integer.parseInt(args[2]) : 4;
    String backend = args.length > 3 ? args[3] : null;
    byte[] echo = SampleGuests.load(SampleGuests.ECHO);
    Sandbox.Builder template = Sandbox.builder().guest(echo);
    if (backend != null) {
      template.backend(backend);
    }
    try (Sandbox probe = template.build()) {
      System.out.printf(
          "soak: backend %s, %s; %,d create/call/close cycles, %,d pooled calls on %d threads%n",
          probe.backend(), probe.privilegeLevel(), cycles, pooled, threads);
    }
    if (nativeKb() < 0) {
      System.out.println(
          "soak: Native Memory Tracking is off (run with -XX:NativeMemoryTracking=summary, as"
              + " bin/glint-soak does); native memory is not judged");
    }
    boolean ok = cyclePhase(template, cycles);
    ok &= poolPhase(template, pooled, threads);
    System.out.println(ok ? "soak verdict: PASS" : "soak verdict: FAIL");
    System.exit(ok ? 0 : 1);
  }

  private static boolean cyclePhase(Sandbox.Builder template, long cycles) {
    long warmUp = Math.max(100, cycles / 20);
    for (long i = 0; i < warmUp; i++) {
      cycle(template, (int) i);
    }
    List<Sample> samples = new ArrayList<>();
    long start = System.nanoTime();
    samples.add(sample(0, start));
    long every = Math.max(1, cycles / SAMPLES);
    for (long i = 1; i <= cycles; i++) {
      cycle(template, (int) i);
      if (i % every == 0 || i == cycles) {
        samples.add(sample(i, start));
      }
    }
    return report("create/call/close cycles (after " + warmUp + " warm-up)", samples);
  }

  private static void cycle(Sandbox.Builder template, int i) {
    try (Sandbox sandbox = template.build()) {
      int result = sandbox.call("EchoI32", ValueType.I32, i);
      if (result != i) {
        throw new AssertionError("EchoI32(" + i + ") returned " + result);
      }
    }
  }

  private static boolean poolPhase(Sandbox.Builder template, long calls, int threads)
      throws Exception {
    AtomicLong done = new AtomicLong();
    List<Sample> samples = new ArrayList<>();
    try (SandboxPool pool =
            SandboxPool.builder(template)
                .minIdle(threads)
                .maxSize(threads)
                .acquireTimeout(Duration.ofSeconds(60))
                .build();
        ExecutorService executor = Executors.newFixedThreadPool(threads)) {
      long warmUp = Math.max(1000, calls / 20);
      for (long i = 0; i < warmUp; i++) {
        pooledCall(pool, i);
      }
      long start = System.nanoTime();
      samples.add(sample(0, start));
      List<Future<?>> workers = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        long from = calls * t / threads;
        long to = calls * (t + 1) / threads;
        workers.add(
            executor.submit(
                () -> {
                  for (long i = from; i < to; i++) {
                    pooledCall(pool, i);
                    done.incrementAndGet();
                  }
                  return null;
                }));
      }
      long every = Math.max(1, calls / SAMPLES);
      long next = every;
      while (!workers.stream().allMatch(Future::isDone)) {
        Thread.sleep(50);
        if (done.get() >= next) {
          samples.add(sample(done.get(), start));
          next = (done.get() / every + 1) * every;
        }
      }
      for (Future<?> w : workers) {
        w.get(1, TimeUnit.MINUTES);
      }
      samples.add(sample(done.get(), start));
    }
    return report("pooled calls (" + threads + " threads, pool of " + threads + ")", samples);
  }

  private static void pooledCall(SandboxPool pool, long i) {
    try {
      long value = i * 0x9E3779B97F4A7C15L;
      long result = pool.call("EchoI64", ValueType.I64, value);
      if (result != value) {
        throw new AssertionError("EchoI64(" + value + ") returned " + result);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static Sample sample(long done, long start) {
    System.gc();
    long heapKb = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed() >> 10;
    return new Sample(
        done, fds(), maps(), nativeKb(), heapKb, rssKb(), (System.nanoTime() - start) / 1_000_000);
  }

  /** Prints the table and the verdict of one phase; returns whether it passed. */
  private static boolean report(String phase, List<Sample> samples) {
    System.out.printf("%n%s%n", phase);
    System.out.printf(
        Locale.ROOT,
        "%12s %8s %6s %6s %11s %11s %10s%n",
        "done",
        "time s",
        "fds",
        "maps",
        "native MiB",
        "heap MiB",
        "RSS MiB");
    for (Sample s : samples) {
      System.out.printf(
          Locale.ROOT,
          "%,12d %8.1f %6d %6d %11s %11.1f %10.1f%n",
          s.done(),
          s.millis() / 1000.0,
          s.fds(),
          s.maps(),
          s.nativeKb() < 0 ? "-" : "%.1f".formatted(s.nativeKb() / 1024.0),
          s.heapKb() / 1024.0,
          s.rssKb() / 1024.0);
    }
    // From the least of the first three samples to the least of the last three: a GC or JIT
    // spike at either end does not count, a steady climb does.
    List<Sample> head = samples.subList(0, Math.min(3, samples.size()));
    List<Sample> tail = samples.subList(Math.max(0, samples.size() - 3), samples.size());
    long fds = growth(head, tail, Sample::fds);
    long maps = growth(head, tail, Sample::maps);
    long nativeKb = growth(head, tail, Sample::nativeKb);
    long heapKb = growth(head, tail, Sample::heapKb);
    long rssKb = growth(head, tail, Sample::rssKb);
    boolean nmt = head.getFirst().nativeKb() >= 0;
    boolean ok =
        fds <= FD_NOISE
            && maps <= MAPS_NOISE
            && (!nmt || nativeKb <= NATIVE_NOISE_KB)
            && heapKb <= HEAP_NOISE_KB
            && rssKb <= RSS_NOISE_KB;
    System.out.printf(
        Locale.ROOT,
        "growth: fds %+d (limit %d), mappings %+d (limit %d), native %+.1f MiB (limit %d),"
            + " heap %+.1f MiB (limit %d), RSS %+.1f MiB (limit %d): %s%n",
        fds,
        FD_NOISE,
        maps,
        MAPS_NOISE,
        nativeKb / 1024.0,
        NATIVE_NOISE_KB >> 10,
        heapKb / 1024.0,
        HEAP_NOISE_KB >> 10,
        rssKb / 1024.0,
        RSS_NOISE_KB >> 10,
        ok ? "PASS" : "FAIL");
    return ok;
  }

  private static long growth(
      List<Sample> head, List<Sample> tail, java.util.function.ToLongFunction<Sample> metric) {
    return tail.stream().mapToLong(metric).min().orElseThrow()
        - head.stream().mapToLong(metric).min().orElseThrow();
  }

  /** {@return the number of memory mappings of the process (an unmapped guest memory shows)} */
  private static long maps() {
    try (Stream<String> lines = Files.lines(Path.of("/proc/self/maps"))) {
      return lines.count();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static long fds() {
    try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
      return fds.count() - 1;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static long rssKb() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("\\D", ""));
        }
      }
      return -1;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static final Pattern NMT_TOTAL =
      Pattern.compile("Total: reserved=(\\d+)KB, committed=(\\d+)KB");

  private static final Pattern NMT_HEAP =
      Pattern.compile("Java Heap \\(reserved=(\\d+)KB, committed=(\\d+)KB\\)");

  /**
   * {@return NMT's total committed memory less the Java heap's (which the GC sizes as it likes, and
   * which the heap column covers), in KiB, or -1 if NMT is off}
   */
  private static long nativeKb() {
    try {
      Object out =
          ManagementFactory.getPlatformMBeanServer()
              .invoke(
                  new ObjectName("com.sun.management:type=DiagnosticCommand"),
                  "vmNativeMemory",
                  new Object[] {new String[] {"summary"}},
                  new String[] {String[].class.getName()});
      Matcher total = NMT_TOTAL.matcher(String.valueOf(out));
      Matcher heap = NMT_HEAP.matcher(String.valueOf(out));
      if (!total.find()) {
        return -1;
      }
      return Long.parseLong(total.group(2)) - (heap.find() ? Long.parseLong(heap.group(2)) : 0);
    } catch (Exception e) {
      return -1;
    }
  }
}
