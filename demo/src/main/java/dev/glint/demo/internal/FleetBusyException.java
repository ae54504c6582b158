package dev.glint.demo.internal;

/**
 * No sandbox came free in time for a request: the cold route has its maximum of sandboxes in
 * flight. Served as 503 with a {@code Retry-After}.
 */
final class FleetBusyException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  FleetBusyException(String message) {
    super(message);
  }
}
