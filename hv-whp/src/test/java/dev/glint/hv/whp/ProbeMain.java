package dev.glint.hv.whp;

import dev.glint.hv.spi.Hypervisors;

/** Prints the whp provider's probe (and, with "open", what opening it throws) in a fresh JVM. */
public final class ProbeMain {
  private ProbeMain() {}

  /** Entry point. */
  public static void main(String[] args) {
    var provider = Hypervisors.provider("whp").orElseThrow();
    System.out.println(provider.probe());
    if (args.length > 0 && args[0].equals("open")) {
      try {
        provider.open().close();
      } catch (RuntimeException e) {
        System.out.println(e);
      }
    }
  }
}
