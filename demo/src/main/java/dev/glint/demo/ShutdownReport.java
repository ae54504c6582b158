package dev.glint.demo;

import java.time.Duration;

/**
 * How a {@link DemoServer} shut down.
 *
 * @param took from the start of the shutdown to every micro-VM freed
 * @param requestsServed requests served over the server's life, whatever their outcome
 * @param requestsCutOff requests still being served when the drain timeout ran out; their calls
 *     were stopped
 * @param vmsAlive micro-VMs still alive afterwards: 0 unless freeing one failed
 */
public record ShutdownReport(Duration took, long requestsServed, int requestsCutOff, int vmsAlive) {

  /** {@return whether every request finished in time and every micro-VM was freed} */
  public boolean clean() {
    return requestsCutOff == 0 && vmsAlive == 0;
  }
}
