package dev.glint.sandbox;

/**
 * The guest image is not a valid Glint guest: it breaks a rule of ABI §3 (the message names the
 * rule and the values, such as "rule 5: segment 2: p_offset + p_filesz (0x...) exceeds the file
 * size (0x...)"), or it cannot be read. Thrown by {@link Sandbox.Builder#build()} before any
 * hypervisor resource is created.
 */
public final class GuestImageException extends SandboxException {
  private static final long serialVersionUID = 1L;

  GuestImageException(String message, Throwable cause) {
    super(message, cause);
  }
}
