package dev.glint.cli.internal;

import dev.glint.hv.Availability;
import dev.glint.hv.PrivilegedExecution;
import dev.glint.hv.spi.HypervisorProvider;
import dev.glint.hv.spi.Hypervisors;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Chooses the backend a command runs on, and says clearly why none can be used. The sandbox would
 * choose the same one by itself; choosing here first turns "no hypervisor" into a message a shell
 * user can act on, before anything else starts.
 */
final class Backends {
  /** What to say where no backend opens: not even the emulated one, which runs anywhere. */
  static final String NO_EMULATOR =
      "Glint needs a hypervisor (on Linux, KVM: /dev/kvm, readable and writable by this user; load"
          + " kvm_intel, kvm_amd or kvm_pvm) or its emulated backend, which runs anywhere: put"
          + " glint-hv-emulated on the module path, and do not set -Dglint.hv.emulated.disable=true.";

  private Backends() {}

  /**
   * {@return the available provider called {@code name}, or the best available one if {@code name}
   * is null}
   *
   * @throws CliFailure exit code 2 if no provider has that name (a typo), 1 if the provider, or
   *     every provider, is unavailable; the message lists each provider with its reason
   */
  static HypervisorProvider choose(String name) {
    List<HypervisorProvider> all = Hypervisors.providers();
    if (name != null) {
      HypervisorProvider provider =
          all.stream()
              .filter(p -> p.name().equals(name))
              .findFirst()
              .orElseThrow(
                  () ->
                      new CliFailure(
                          2,
                          "no backend named '%s'; found: %s (see 'glint backends')"
                              .formatted(name, names(all))));
      if (provider.probe() instanceof Availability.Unavailable(String reason, var cause)) {
        throw new CliFailure(
            1, "backend '%s' is unavailable here: %s%n%s".formatted(name, reason, NO_EMULATOR));
      }
      return provider;
    }
    for (HypervisorProvider provider : all) {
      if (provider.probe().isAvailable()) {
        return provider;
      }
    }
    if (all.isEmpty()) {
      throw new CliFailure(
          1,
          "no hypervisor backend is on the module path (glint-hv-kvm is missing from it).%n%s"
              .formatted(NO_EMULATOR));
    }
    String reasons =
        all.stream()
            .map(
                p ->
                    "  %s: %s".formatted(p.name(), ((Availability.Unavailable) p.probe()).reason()))
            .collect(Collectors.joining("\n"));
    throw new CliFailure(
        1, "no hypervisor backend can be opened here:%n%s%n%s".formatted(reasons, NO_EMULATOR));
  }

  /**
   * {@return what to tell the user when {@code chosen} interprets every guest instruction because
   * no hypervisor opens here: each unavailable backend with its reason; empty if {@code chosen} is
   * a hypervisor, or was the best backend anyway}
   *
   * @param chosen the provider a command is about to run on
   */
  static Optional<String> fallbackNotice(HypervisorProvider chosen) {
    if (!(chosen.probe() instanceof Availability.Available available)
        || available.privilegedExecution() != PrivilegedExecution.INTERPRETED) {
      return Optional.empty();
    }
    List<String> unavailable =
        Hypervisors.providers().stream()
            .filter(p -> p.priority() > chosen.priority())
            .filter(p -> p.probe() instanceof Availability.Unavailable)
            .map(p -> "%s: %s".formatted(p.name(), ((Availability.Unavailable) p.probe()).reason()))
            .toList();
    if (unavailable.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(
        "no hypervisor opens here (%s); running on the '%s' backend, a software x86-64 that"
                .formatted(String.join("; ", unavailable), chosen.name())
            + " interprets every guest instruction: correct, but far slower than a hypervisor");
  }

  private static String names(List<HypervisorProvider> providers) {
    return providers.isEmpty()
        ? "none"
        : providers.stream().map(HypervisorProvider::name).collect(Collectors.joining(", "));
  }
}
