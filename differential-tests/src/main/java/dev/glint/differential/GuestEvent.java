package dev.glint.differential;

/**
 * Something the guest did that the host saw while a case ran: a closed set, compared in order
 * between the two backends.
 */
public sealed interface GuestEvent {

  /**
   * The guest wrote to an I/O port.
   *
   * @param port the port
   * @param size 1, 2 or 4 bytes
   * @param data the value, zero-extended
   */
  record PortOut(int port, int size, long data) implements GuestEvent {
    @Override
    public String toString() {
      return "out(port 0x%x, size %d, data 0x%x)".formatted(port, size, data);
    }
  }

  /**
   * The guest read an I/O port; the host answered with a value derived from the port and the read's
   * position, the same on both backends.
   *
   * @param port the port
   * @param size 1, 2 or 4 bytes
   */
  record PortIn(int port, int size) implements GuestEvent {
    @Override
    public String toString() {
      return "in(port 0x%x, size %d)".formatted(port, size);
    }
  }

  /**
   * An exception delivered to the guest's IDT from CPL 3, as its handler reported it.
   *
   * @param vector the exception vector
   * @param errorCode the error code, 0 for vectors without one
   * @param rip the RIP pushed: the faulting instruction
   * @param cr2 CR2, the faulting address, for a page fault; 0 otherwise
   */
  record Fault(int vector, long errorCode, long rip, long cr2) implements GuestEvent {
    @Override
    public String toString() {
      return vector == 14
          ? "fault(#%s, error 0x%x, rip 0x%x, cr2 0x%x)".formatted(name(), errorCode, rip, cr2)
          : "fault(#%s, error 0x%x, rip 0x%x)".formatted(name(), errorCode, rip);
    }

    private String name() {
      String[] names = {
        "DE", "DB", "NMI", "BP", "OF", "BR", "UD", "NM", "DF", "9", "TS", "NP", "SS", "GP", "PF",
        "15", "MF", "AC", "MC", "XM"
      };
      return vector < names.length ? names[vector] : Integer.toString(vector);
    }
  }

  /** The case finished: the guest wrote to the done port. */
  record Done() implements GuestEvent {
    @Override
    public String toString() {
      return "done";
    }
  }

  /**
   * The run stopped in any other way: a VM exit no case should cause (halt, shutdown, MMIO, an
   * internal error), a timeout, too many exits, or an exception thrown by the backend.
   *
   * @param what a description
   */
  record Stopped(String what) implements GuestEvent {
    @Override
    public String toString() {
      return "stopped(" + what + ")";
    }
  }
}
