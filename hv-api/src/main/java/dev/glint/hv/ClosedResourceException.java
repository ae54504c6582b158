package dev.glint.hv;

/**
 * A method was called on a {@link Hypervisor}, {@link Partition}, {@link Vcpu} or {@link
 * GuestMemory} that was already closed (or whose parent was closed).
 */
public class ClosedResourceException extends IllegalStateException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates an exception naming the closed resource.
   *
   * @param resource what was closed, such as "kvm partition 'hello'"
   */
  public ClosedResourceException(String resource) {
    super(resource + " is closed; create a new one");
  }
}
