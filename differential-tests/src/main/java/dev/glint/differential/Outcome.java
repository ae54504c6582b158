package dev.glint.differential;

import dev.glint.hv.Registers;
import java.util.HexFormat;
import java.util.List;

/**
 * What one backend ended with after a case: its events, the registers when it stopped (the user
 * registers at the fault for a fault), the XMM registers and MXCSR, and the compared memory. An
 * immutable value.
 *
 * @param events what the guest did, in order; the last is {@link GuestEvent.Done}, a {@link
 *     GuestEvent.Fault} or {@link GuestEvent.Stopped}
 * @param registers the general registers, RIP and RFLAGS at the end
 * @param xmm XMM0..XMM15, 256 bytes, or empty when SSE state is not compared
 * @param mxcsr MXCSR, or 0 when SSE state is not compared
 * @param memory the user data and stack pages
 */
public record Outcome(
    List<GuestEvent> events, Registers registers, byte[] xmm, int mxcsr, byte[] memory) {

  /** Copies. */
  public Outcome {
    events = List.copyOf(events);
    xmm = xmm.clone();
    memory = memory.clone();
  }

  @Override
  public byte[] xmm() {
    return xmm.clone();
  }

  @Override
  public byte[] memory() {
    return memory.clone();
  }

  /** {@return the 16 bytes of XMM register {@code n} as hex, most significant first} */
  public String xmmHex(int n) {
    byte[] reversed = new byte[16];
    for (int i = 0; i < 16; i++) {
      reversed[i] = xmm[n * 16 + 15 - i];
    }
    return HexFormat.of().formatHex(reversed);
  }

  /** {@return the byte at {@code offset} of {@link #memory()}} */
  byte memoryByte(int offset) {
    return memory[offset];
  }
}
