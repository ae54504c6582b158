package dev.glint.hv.spi;

import dev.glint.hv.Availability;
import dev.glint.hv.Hypervisor;

/**
 * A hypervisor backend, found with {@link java.util.ServiceLoader}. Each backend module declares
 * {@code provides dev.glint.hv.spi.HypervisorProvider with ...} and also ships {@code
 * META-INF/services/dev.glint.hv.spi.HypervisorProvider}, so class-path users find it too.
 *
 * <p>Implementations must have a public no-argument constructor that does no work: no native calls,
 * no device access, nothing that can throw. Probing happens in {@link #probe()}.
 *
 * <p><b>Thread safety:</b> implementations are thread-safe.
 */
public interface HypervisorProvider {

  /** {@return the backend's stable name: "kvm", "mshv", "whp", "emulated", or a third party's} */
  String name();

  /**
   * {@return the preference among available backends; higher wins} Hardware backends use 100, the
   * emulated backend 0.
   */
  int priority();

  /**
   * Finds out whether the backend works here by doing the real thing once (opening the device,
   * asking its version and capabilities). Never throws: every failure becomes an {@link
   * Availability.Unavailable} whose reason says what is wrong and how to fix it. May cache its
   * answer. A backend honours the system property {@code glint.hv.<name>.disable=true} by reporting
   * itself unavailable.
   */
  Availability probe();

  /**
   * Opens the backend.
   *
   * @throws dev.glint.hv.HypervisorException if it is unavailable (the message carries the probe's
   *     reason) or opening fails
   */
  Hypervisor open();
}
