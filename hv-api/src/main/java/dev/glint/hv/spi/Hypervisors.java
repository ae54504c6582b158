package dev.glint.hv.spi;

import dev.glint.hv.Availability;
import dev.glint.hv.HypervisorException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.ServiceLoader;

/**
 * Finds {@link HypervisorProvider}s with {@link ServiceLoader} and selects one.
 *
 * <p><b>Thread safety:</b> thread-safe; each call loads providers afresh.
 */
public final class Hypervisors {

  /** The system property naming the backend to use, such as {@code -Dglint.backend=kvm}. */
  public static final String BACKEND_PROPERTY = "glint.backend";

  private Hypervisors() {}

  /** {@return every provider visible to this module's class loader, highest priority first} */
  public static List<HypervisorProvider> providers() {
    List<HypervisorProvider> providers = new ArrayList<>();
    ServiceLoader.load(HypervisorProvider.class, Hypervisors.class.getClassLoader())
        .forEach(providers::add);
    providers.sort(
        Comparator.comparingInt(HypervisorProvider::priority)
            .reversed()
            .thenComparing(HypervisorProvider::name));
    return List.copyOf(providers);
  }

  /** {@return the provider called {@code name}, if one is found} */
  public static Optional<HypervisorProvider> provider(String name) {
    return providers().stream().filter(p -> p.name().equals(name)).findFirst();
  }

  /**
   * Selects a provider: the one named by the system property {@value #BACKEND_PROPERTY} if set,
   * else the available one with the highest priority.
   *
   * @throws HypervisorException if the named provider is not found or unavailable, or if none is
   *     available; the message lists every provider with its reason
   */
  public static HypervisorProvider select() {
    String requested = System.getProperty(BACKEND_PROPERTY, "").strip();
    return requested.isEmpty() ? best() : require(requested);
  }

  /**
   * {@return the available provider called {@code name}}
   *
   * @throws HypervisorException if it is not found or not available, with the reason
   */
  public static HypervisorProvider require(String name) {
    List<HypervisorProvider> all = providers();
    for (HypervisorProvider provider : all) {
      if (provider.name().equals(name)) {
        if (provider.probe() instanceof Availability.Unavailable(String reason, var cause)) {
          throw new HypervisorException(
              name,
              "probe",
              HypervisorException.NO_ERROR_CODE,
              "",
              "backend '%s' is unavailable: %s".formatted(name, reason),
              cause.orElse(null));
        }
        return provider;
      }
    }
    throw new HypervisorException(
        name,
        "select",
        HypervisorException.NO_ERROR_CODE,
        "",
        "no backend named '%s' is on the class or module path; found: %s"
            .formatted(name, all.stream().map(HypervisorProvider::name).toList()),
        null);
  }

  /**
   * {@return the available provider with the highest priority}
   *
   * @throws HypervisorException if none is available; the message lists every provider's reason
   */
  public static HypervisorProvider best() {
    List<HypervisorProvider> all = providers();
    StringBuilder reasons = new StringBuilder();
    for (HypervisorProvider provider : all) {
      Availability availability = provider.probe();
      if (availability.isAvailable()) {
        return provider;
      }
      reasons
          .append("\n  ")
          .append(provider.name())
          .append(": ")
          .append(((Availability.Unavailable) availability).reason());
    }
    throw new HypervisorException(
        "none",
        "select",
        HypervisorException.NO_ERROR_CODE,
        "",
        all.isEmpty()
            ? "no hypervisor backend is on the class or module path; add glint-hv-kvm (Linux)"
                + " or another backend"
            : "no hypervisor backend is available here:" + reasons,
        null);
  }
}
