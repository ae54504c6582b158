package dev.glint.hv.kvm.internal;

import dev.glint.hv.Hypervisor;
import dev.glint.hv.MemoryMapping;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Locale;

/**
 * Times {@code Partition.dirtyPages} after the guest dirtied 6 pages (at CPL 3, where the sandbox
 * runs guest code on PVM), consecutive or spread over the slot, in a 6 MiB and a 256 MiB tracked
 * mapping, with the dirty ring (forced on, PVM included) and with the bitmap ({@code
 * KVM_GET_DIRTY_LOG}): the figures in docs/kvm-backend.md. A program, not a test, since timings on
 * a shared machine make poor assertions. Rounds alternate the cases so that load drift hits all of
 * them alike.
 *
 * <p>Run after {@code ./mvnw -pl hv-kvm -am test-compile}:
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED \
 *   -cp hv-kvm/target/classes:hv-kvm/target/test-classes:hv-api/target/classes \
 *   dev.glint.hv.kvm.internal.DirtyPagesTiming [iterations per case and round] [rounds]
 * </pre>
 */
final class DirtyPagesTiming {
  private static final long PAGE = 4096;
  private static final int DIRTIED = 6;
  private static final long[] SIZES = {6L << 20, 256L << 20};

  private DirtyPagesTiming() {}

  public static void main(String[] args) {
    int iterations = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    KvmHost host =
        KvmProbe.result()
            .host()
            .orElseThrow(() -> new IllegalStateException(KvmProbe.result().toString()));
    int[] modes =
        host.hasDirtyRing()
            ? new int[] {KvmHypervisor.DEFAULT_DIRTY_RING_ENTRIES, 0}
            : new int[] {0};
    System.out.printf(
        Locale.ROOT,
        "%s; dirty ring: %s; %d iterations per case and round, %d dirtied pages%n",
        host.description(),
        host.hasDirtyRing() ? host.dirtyRingMaxBytes() + " bytes max" : "none",
        iterations,
        DIRTIED);
    // Round 0 only warms up the JIT; it is not printed.
    for (int round = 0; round <= rounds; round++) {
      for (Pattern pattern : Pattern.values()) {
        for (int entries : modes) {
          try (Hypervisor hypervisor = KvmHypervisor.open(host, entries)) {
            for (long size : SIZES) {
              measure(hypervisor, entries, size, pattern, iterations, round);
            }
          }
        }
      }
    }
  }

  /** Where the dirtied pages lie in the slot. */
  private enum Pattern {
    /** Consecutive at the start, like a call's stack and data. */
    CONSECUTIVE,
    /** 1 MiB apart: the same pages in both slot sizes. */
    MIB_APART,
    /** Evenly over the whole slot. */
    SPREAD;

    long stride(long size) {
      return switch (this) {
        case CONSECUTIVE -> PAGE;
        case MIB_APART -> 1L << 20;
        case SPREAD -> size / DIRTIED / PAGE * PAGE;
      };
    }
  }

  private static void measure(
      Hypervisor hypervisor, int entries, long size, Pattern pattern, int iterations, int round) {
    try (PageWriterGuest guest = new PageWriterGuest(hypervisor, "timing")) {
      MemoryMapping mapping = guest.mapTracked(0, size);
      long stride = pattern.stride(size);
      long[] dirty = new long[iterations];
      long[] clean = new long[iterations];
      for (int i = -iterations / 10; i < iterations; i++) {
        guest.writePages(true, PageWriterGuest.WINDOW, DIRTIED, stride);
        long start = System.nanoTime();
        BitSet pages = guest.partition.dirtyPages(mapping);
        long middle = System.nanoTime();
        guest.partition.dirtyPages(mapping); // nothing written since
        long end = System.nanoTime();
        if (pages.cardinality() != DIRTIED) {
          throw new AssertionError("expected %d dirty pages, got %s".formatted(DIRTIED, pages));
        }
        if (i >= 0) {
          dirty[i] = middle - start;
          clean[i] = end - middle;
        }
      }
      if (round == 0) {
        return;
      }
      System.out.printf(
          Locale.ROOT,
          "round %d  %-20s %4d MiB  %-11s  dirtyPages after %d writes: %s   with none: %s%n",
          round,
          entries > 0 ? "ring (" + entries + " entries)" : "bitmap",
          size >> 20,
          pattern.name().toLowerCase(Locale.ROOT),
          DIRTIED,
          summary(dirty),
          summary(clean));
    }
  }

  private static String summary(long[] samples) {
    long[] sorted = samples.clone();
    Arrays.sort(sorted);
    return String.format(
        Locale.ROOT,
        "median %.2f µs (p10 %.2f, p90 %.2f)",
        sorted[sorted.length / 2] / 1000.0,
        sorted[sorted.length / 10] / 1000.0,
        sorted[sorted.length * 9 / 10] / 1000.0);
  }
}
