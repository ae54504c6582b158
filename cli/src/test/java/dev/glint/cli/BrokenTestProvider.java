package dev.glint.cli;

import dev.glint.hv.Availability;
import dev.glint.hv.Hypervisor;
import dev.glint.hv.PrivilegedExecution;
import dev.glint.hv.spi.HypervisorProvider;
import java.lang.reflect.Proxy;
import java.util.Set;

/**
 * A backend that opens but fails every operation, so that the conformance suite has failures to
 * report. Available only while the system property {@value #ENABLE} is true, so that no other test
 * (nor a best-backend choice) picks it by accident.
 */
public final class BrokenTestProvider implements HypervisorProvider {
  static final String NAME = "fake-broken";
  static final String ENABLE = "glint.cli.test.broken";

  /** Creates the provider; ServiceLoader calls it. */
  public BrokenTestProvider() {}

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public int priority() {
    return -20;
  }

  @Override
  public Availability probe() {
    return Boolean.getBoolean(ENABLE)
        ? new Availability.Available(
            "a fake backend whose every operation fails", Set.of(), PrivilegedExecution.NATIVE)
        : Availability.Unavailable.because("enabled only by -D" + ENABLE + "=true");
  }

  @Override
  public Hypervisor open() {
    return (Hypervisor)
        Proxy.newProxyInstance(
            Hypervisor.class.getClassLoader(),
            new Class<?>[] {Hypervisor.class},
            (proxy, method, args) ->
                switch (method.getName()) {
                  case "name" -> NAME;
                  case "description" -> "a fake backend whose every operation fails";
                  case "capabilities" -> Set.of();
                  case "has" -> false;
                  case "privilegedExecution" -> PrivilegedExecution.NATIVE;
                  case "maxMemoryBytes" -> 1L << 30;
                  case "close" -> null;
                  case "toString" -> "BrokenHypervisor";
                  case "hashCode" -> System.identityHashCode(proxy);
                  case "equals" -> proxy == args[0];
                  default ->
                      throw new UnsupportedOperationException(
                          "the fake backend cannot " + method.getName());
                });
  }
}
