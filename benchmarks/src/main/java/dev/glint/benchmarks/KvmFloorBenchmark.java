package dev.glint.benchmarks;

import dev.glint.hv.GuestMemory;
import dev.glint.hv.Hypervisor;
import dev.glint.hv.HypervisorException;
import dev.glint.hv.MemoryFlag;
import dev.glint.hv.Partition;
import dev.glint.hv.PartitionConfig;
import dev.glint.hv.Registers;
import dev.glint.hv.Segment;
import dev.glint.hv.SpecialRegisters;
import dev.glint.hv.Vcpu;
import dev.glint.hv.VcpuExit;
import dev.glint.hv.spi.HypervisorProvider;
import dev.glint.hv.spi.Hypervisors;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The foundation benchmark: the SPI on KVM beside the same work in C ({@code kvm_floor.c}), in one
 * run, printed as ratios Java/C. Measures the {@code out}-exit round trip from CPL 0 and CPL 3, and
 * partition create + 8 MiB map + vCPU + run to HLT, and its close, timed separately.
 *
 * <p>Run with {@code bin/glint-bench}. Arguments: {@code [rounds] [exits per round] [lifecycles per
 * round]}; C and Java alternate within each round and the table shows the median of the rounds'
 * medians.
 */
public final class KvmFloorBenchmark {

  private static final long GUEST_BYTES = 8L << 20;

  private KvmFloorBenchmark() {}

  /**
   * Runs the benchmark and prints the table.
   *
   * @param args optional: rounds, exits per round, lifecycles per round
   */
  public static void main(String[] args) throws IOException, InterruptedException {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 7;
    int exits = args.length > 1 ? Integer.parseInt(args[1]) : 10_000;
    int lifecycles = args.length > 2 ? Integer.parseInt(args[2]) : 300;

    HypervisorProvider provider = Hypervisors.require("kvm");
    CFloor floor = CFloor.compile("kvm_floor");
    List<Comparison> table = new ArrayList<>();
    try (Hypervisor hv = provider.open()) {
      System.out.printf(
          "backend: %s (%s); %d rounds, %d exits and %d lifecycles per round%n",
          hv.name(), hv.description(), rounds, exits, lifecycles);
      Medians c = new Medians();
      Medians java = new Medians();
      for (int round = 0; round < rounds; round++) {
        c.add(floor.medians("exit0", Integer.toString(exits)));
        java.add("exit_cpl0", ExitLoop.measure(hv, 0, exits).median());
        c.add(floor.medians("exit3", Integer.toString(exits)));
        java.add("exit_cpl3", ExitLoop.measure(hv, 3, exits).median());
        c.add(floor.medians("lifecycle", Integer.toString(lifecycles)));
        Samples[] lifecycle = lifecycle(hv, lifecycles);
        java.add("create_to_hlt", lifecycle[0].median());
        java.add("close", lifecycle[1].median());
      }
      table.add(new Comparison("out exit round trip, CPL 0", "exit_cpl0", 1.2, c, java));
      table.add(new Comparison("out exit round trip, CPL 3", "exit_cpl3", 1.2, c, java));
      table.add(
          new Comparison("create + 8 MiB map + vCPU + run to HLT", "create_to_hlt", 1.5, c, java));
      table.add(new Comparison("close (vCPU, VM, memory)", "close", 1.5, c, java));
    }
    System.out.println();
    System.out.println("| measurement | C floor (median) | Glint SPI (median) | Java/C | goal |");
    System.out.println("|---|---:|---:|---:|---:|");
    for (Comparison row : table) {
      System.out.println(row.markdown());
    }
  }

  /** Creates a partition with 8 MiB, a vCPU in real mode at a {@code hlt}, runs it, closes it. */
  static Samples[] lifecycle(Hypervisor hv, int count) {
    int warmup = count / 10;
    long[] create = new long[count];
    long[] close = new long[count];
    for (int i = 0; i < count + warmup; i++) {
      long start = System.nanoTime();
      GuestMemory ram = hv.allocateMemory(GUEST_BYTES);
      Partition partition = hv.createPartition(PartitionConfig.defaults());
      partition.map(0, ram.segment(), MemoryFlag.READ_WRITE_EXECUTE);
      Vcpu vcpu = partition.createVcpu();
      ram.segment().set(ValueLayout.JAVA_BYTE, 0x1000, (byte) 0xF4); // hlt
      SpecialRegisters reset = vcpu.specialRegisters();
      vcpu.setSpecialRegisters(reset.withCodeAndStack(Segment.realMode(0, 0xB), reset.ss()));
      vcpu.setRegisters(Registers.initial().withRip(0x1000));
      VcpuExit exit = vcpu.run();
      long created = System.nanoTime();
      partition.close();
      ram.close();
      long closed = System.nanoTime();
      if (!(exit instanceof VcpuExit.Halt)) {
        throw new HypervisorException(
            hv.name(), "benchmark", 0, "", "expected a HLT exit, got " + exit, null);
      }
      if (i >= warmup) {
        create[i - warmup] = created - start;
        close[i - warmup] = closed - created;
      }
    }
    return new Samples[] {new Samples("create_to_hlt", create), new Samples("close", close)};
  }

  /** Per-measurement medians of several rounds; the table shows the median of these medians. */
  static final class Medians {
    private final Map<String, List<Long>> byName = new java.util.TreeMap<>();

    void add(Map<String, Long> medians) {
      medians.forEach(this::add);
    }

    void add(String name, long median) {
      byName.computeIfAbsent(name, n -> new ArrayList<>()).add(median);
    }

    long medianOf(String name) {
      List<Long> values = byName.get(name);
      if (values == null) {
        throw new IllegalStateException("no measurement named " + name);
      }
      long[] sorted = values.stream().mapToLong(Long::longValue).sorted().toArray();
      return sorted[sorted.length / 2];
    }
  }

  private record Comparison(String label, long cNanos, long javaNanos, double goal) {
    Comparison(String label, String name, double goal, Medians c, Medians java) {
      this(label, c.medianOf(name), java.medianOf(name), goal);
    }

    String markdown() {
      double ratio = (double) javaNanos / cNanos;
      return String.format(
          Locale.ENGLISH,
          "| %s | %.1f µs | %.1f µs | %.2f | ≤ %.1f %s |",
          label,
          cNanos / 1e3,
          javaNanos / 1e3,
          ratio,
          goal,
          ratio <= goal ? "(met)" : "(NOT met)");
    }
  }
}
