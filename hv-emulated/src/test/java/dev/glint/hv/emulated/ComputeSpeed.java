package dev.glint.hv.emulated;

import dev.glint.guest.SampleGuests;
import dev.glint.hv.emulated.internal.cpu.Executor;
import dev.glint.sandbox.PrivilegeLevel;
import dev.glint.sandbox.Sandbox;
import dev.glint.sandbox.ValueType;
import java.util.Locale;

/**
 * Measures the emulated backend's speed on the {@code compute} sample guest: guest instructions per
 * second over {@code Sha256Pattern} calls, at CPL 3 and CPL 0 (command in
 * docs/emulated-backend.md).
 */
public final class ComputeSpeed {
  private ComputeSpeed() {}

  /**
   * Runs the measurement.
   *
   * @param args optional: the bytes hashed per call (default 4 MiB) and the calls (default 5)
   */
  public static void main(String[] args) {
    int bytes = args.length > 0 ? Integer.parseInt(args[0]) : 4 << 20;
    int calls = args.length > 1 ? Integer.parseInt(args[1]) : 5;
    for (PrivilegeLevel level : PrivilegeLevel.values()) {
      for (int round = 0; round < 2; round++) { // the first round warms the JIT up
        try (Sandbox sandbox =
            Sandbox.builder()
                .guest(SampleGuests.load("compute"))
                .backend("emulated")
                .privilegeLevel(level)
                .memorySize(64 << 20)
                .heapSize(32 << 20)
                .build()) {
          sandbox.call("Noop", ValueType.VOID);
          long before = Executor.totalInstructions();
          long start = System.nanoTime();
          for (int i = 0; i < calls; i++) {
            sandbox.call("Sha256Pattern", ValueType.BYTES, bytes);
          }
          long elapsed = System.nanoTime() - start;
          long instructions = Executor.totalInstructions() - before;
          System.out.printf(
              Locale.ROOT,
              "%s round %d: %d calls of Sha256Pattern(%d) in %.2f s: %d guest instructions,"
                  + " %.1f million instructions/s%n",
              level,
              round,
              calls,
              bytes,
              elapsed / 1e9,
              instructions,
              instructions / (elapsed / 1e3));
        }
      }
    }
  }
}
