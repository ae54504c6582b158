package dev.glint.sandbox;

/**
 * The sandbox refuses calls because an earlier call left its guest in an unknown state (a fault, an
 * abort or a protocol violation, which is the cause). Close it and build a new one; restoring a
 * snapshot will also clear it once snapshots exist.
 */
public final class SandboxPoisonedException extends SandboxException {
  private static final long serialVersionUID = 1L;

  SandboxPoisonedException(String message, Throwable cause) {
    super(message, cause);
  }
}
