package dev.glint.cli.internal;

import dev.glint.hv.Availability;
import dev.glint.hv.Capability;
import dev.glint.hv.Hypervisor;
import dev.glint.hv.HypervisorException;
import dev.glint.hv.PrivilegedExecution;
import dev.glint.hv.spi.HypervisorProvider;
import dev.glint.hv.spi.Hypervisors;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code glint backends}: every hypervisor backend found with {@link java.util.ServiceLoader},
 * available or not (with the reason), its priority, and for the available ones what opening it
 * reports: capabilities, privileged execution and the largest guest memory.
 */
@Command(
    name = "backends",
    mixinStandardHelpOptions = true,
    description = {
      "Lists the hypervisor backends, available or not, with the reason.",
      "An available backend is opened briefly to list its capabilities.",
      "Exits 1 if none is available."
    })
final class BackendsCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  /** Creates the command; picocli calls it. */
  BackendsCommand() {}

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    List<HypervisorProvider> providers = Hypervisors.providers();
    if (providers.isEmpty()) {
      throw new CliFailure(
          1, "no hypervisor backend is on the module path.%n%s".formatted(Backends.NO_EMULATOR));
    }
    int available = 0;
    for (HypervisorProvider provider : providers) {
      if (describe(provider, out)) {
        available++;
      }
      out.println();
    }
    if (available == 0) {
      throw new CliFailure(1, "no backend is available here. " + Backends.NO_EMULATOR);
    }
    out.printf(
        "%d of %d backends available; the default is '%s' (highest priority; -Dglint.backend or"
            + " --backend chooses another).%n",
        available,
        providers.size(),
        providers.stream().filter(p -> p.probe().isAvailable()).findFirst().orElseThrow().name());
    return 0;
  }

  /** Prints one backend; {@return whether it is available and opened} */
  private static boolean describe(HypervisorProvider provider, PrintWriter out) {
    Availability availability = provider.probe();
    if (availability instanceof Availability.Unavailable(String reason, var cause)) {
      out.printf("%s: unavailable (priority %d)%n", provider.name(), provider.priority());
      out.printf("  reason: %s%n", reason);
      return false;
    }
    try (Hypervisor hypervisor = provider.open()) {
      Set<Capability> capabilities = hypervisor.capabilities();
      out.printf("%s: available (priority %d)%n", provider.name(), provider.priority());
      out.printf("  %s%n", hypervisor.description());
      out.printf("  privileged execution: %s%n", explain(hypervisor.privilegedExecution()));
      out.printf("  capabilities: %s%n", names(capabilities, true));
      out.printf("  lacks: %s%n", names(capabilities, false));
      out.printf("  largest guest memory: %s%n", bytes(hypervisor.maxMemoryBytes()));
      return true;
    } catch (HypervisorException e) {
      // The probe said yes, yet opening failed: report it, as the user would hit it next.
      out.printf(
          "%s: probed available, but opening it failed (priority %d)%n",
          provider.name(), provider.priority());
      out.printf("  reason: %s%n", e.getMessage());
      return false;
    }
  }

  private static String explain(PrivilegedExecution execution) {
    return switch (execution) {
      case NATIVE -> "native (hardware virtualization; guest functions run at CPL 0 by default)";
      case EMULATED ->
          "emulated (CPL-0 guest code is emulated, as on PVM; guest functions run at CPL 3 by"
              + " default)";
      case INTERPRETED -> "interpreted (every guest instruction is emulated)";
    };
  }

  private static String names(Set<Capability> capabilities, boolean present) {
    String list =
        Arrays.stream(Capability.values())
            .filter(c -> capabilities.contains(c) == present)
            .map(Capability::name)
            .collect(Collectors.joining(", "));
    return list.isEmpty() ? "none" : list;
  }

  private static String bytes(long bytes) {
    if (bytes >= 1L << 30 && bytes % (1L << 30) == 0) {
      return (bytes >> 30) + " GiB";
    }
    if (bytes >= 1L << 20) {
      return (bytes >> 20) + " MiB";
    }
    return bytes + " bytes";
  }
}
