package dev.glint.hv.x86;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.BitSet;
import java.util.Objects;

/**
 * A 64-bit task-state segment (Intel SDM vol. 3, figure 8-11): the stacks the CPU switches to on an
 * interrupt from CPL 3 (RSP0) or through an IST slot, and the I/O permission bitmap that lets CPL-3
 * code use chosen ports. An immutable value; build one with {@link #builder()}.
 *
 * <p>Layout: a 104-byte header ({@link #RSP0_OFFSET RSP0} at 4, {@link #IST1_OFFSET IST1..7} from
 * 36, the {@link #IO_MAP_BASE_OFFSET I/O map base} at 102), then the bitmap at offset 104, one bit
 * per port (0 = allowed), covering ports up to the highest allowed one, then one 0xFF byte: the CPU
 * reads two bytes of the bitmap for every check, and ports past the TSS limit are denied. A 2- or
 * 4-byte access checks every port it touches, so allow {@code port .. port + size - 1} ({@link
 * Builder#allowPortRange}).
 *
 * <p>On PVM hosts IOPL is forced to 0 at CPL 3, so this bitmap is the only way to give user-mode
 * guest code ports; on hardware virtualization it works the same.
 */
public final class TaskStateSegment {

  /** The size of the fixed part, in bytes. */
  public static final int HEADER_SIZE = 104;

  /** Offset of RSP0, the stack for interrupts from CPL 3. */
  public static final int RSP0_OFFSET = 4;

  /** Offset of IST1; IST{@code n} is at {@code IST1_OFFSET + 8 * (n - 1)}. */
  public static final int IST1_OFFSET = 36;

  /** Offset of the 16-bit I/O map base: the bitmap's offset from the TSS's start. */
  public static final int IO_MAP_BASE_OFFSET = 102;

  /** The number of interrupt stack table slots. */
  public static final int IST_SLOTS = 7;

  private final long rsp0;
  private final long[] interruptStacks;
  private final BitSet allowedPorts;

  private TaskStateSegment(long rsp0, long[] interruptStacks, BitSet allowedPorts) {
    this.rsp0 = rsp0;
    this.interruptStacks = interruptStacks.clone();
    this.allowedPorts = (BitSet) allowedPorts.clone();
  }

  /** {@return a builder for a TSS with RSP0 zero, no IST stacks and no allowed ports} */
  public static Builder builder() {
    return new Builder();
  }

  /** {@return RSP0} */
  public long rsp0() {
    return rsp0;
  }

  /**
   * {@return the stack of IST slot {@code slot}, or 0 if unset}
   *
   * @param slot 1 to 7
   */
  public long interruptStack(int slot) {
    return interruptStacks[checkSlot(slot) - 1];
  }

  /**
   * {@return whether CPL-3 code may access {@code port}}
   *
   * @param port 0 to 0xFFFF
   */
  public boolean allows(int port) {
    return allowedPorts.get(checkPort(port));
  }

  /** {@return the bitmap size in bytes, without the terminating 0xFF byte} */
  public int bitmapByteSize() {
    return (allowedPorts.length() + 7) / 8;
  }

  /** {@return the size of the TSS in bytes: header, bitmap and the terminating byte} */
  public int byteSize() {
    return HEADER_SIZE + bitmapByteSize() + 1;
  }

  /** {@return the TSS limit for its descriptor and the task register (size minus one)} */
  public int limit() {
    return byteSize() - 1;
  }

  /**
   * Writes the TSS ({@link #byteSize()} bytes) at {@code offset} of {@code memory}.
   *
   * @param memory guest memory
   * @param offset where the TSS starts in {@code memory}; its guest address goes in the descriptor
   * @throws IndexOutOfBoundsException if it does not fit
   * @throws IllegalArgumentException if {@code memory} is read-only
   */
  public void write(MemorySegment memory, long offset) {
    if (memory.isReadOnly()) {
      throw new IllegalArgumentException("cannot write a TSS into a read-only segment");
    }
    MemorySegment tss = memory.asSlice(offset, byteSize());
    tss.fill((byte) 0);
    tss.set(ValueLayout.JAVA_LONG_UNALIGNED, RSP0_OFFSET, rsp0);
    for (int i = 0; i < IST_SLOTS; i++) {
      tss.set(ValueLayout.JAVA_LONG_UNALIGNED, IST1_OFFSET + 8L * i, interruptStacks[i]);
    }
    tss.set(ValueLayout.JAVA_SHORT_UNALIGNED, IO_MAP_BASE_OFFSET, (short) HEADER_SIZE);
    // Every bit set (port denied), then clear the allowed ones; the last byte is the terminator.
    tss.asSlice(HEADER_SIZE).fill((byte) 0xFF);
    for (int port = allowedPorts.nextSetBit(0);
        port >= 0;
        port = allowedPorts.nextSetBit(port + 1)) {
      long at = HEADER_SIZE + port / 8;
      byte bits = tss.get(ValueLayout.JAVA_BYTE, at);
      tss.set(ValueLayout.JAVA_BYTE, at, (byte) (bits & ~(1 << (port % 8))));
    }
  }

  private static int checkSlot(int slot) {
    if (slot < 1 || slot > IST_SLOTS) {
      throw new IllegalArgumentException("IST slot %d must be 1..7".formatted(slot));
    }
    return slot;
  }

  private static int checkPort(int port) {
    if (port < 0 || port > 0xFFFF) {
      throw new IllegalArgumentException("I/O port 0x%x must be 0..0xFFFF".formatted(port));
    }
    return port;
  }

  /** Builds a {@link TaskStateSegment}. Not thread-safe. */
  public static final class Builder {
    private long rsp0;
    private final long[] interruptStacks = new long[IST_SLOTS];
    private final BitSet allowedPorts = new BitSet();

    private Builder() {}

    /**
     * Sets RSP0, the stack the CPU switches to on an interrupt or exception from CPL 3.
     *
     * @param stackTop the initial RSP, the address just above the stack (16-byte aligned)
     * @return this builder
     * @throws IllegalArgumentException if {@code stackTop} is not 16-byte aligned
     */
    public Builder rsp0(long stackTop) {
      this.rsp0 = checkStack(stackTop);
      return this;
    }

    /**
     * Sets an interrupt stack table slot, used by IDT gates that name it.
     *
     * @param slot 1 to 7
     * @param stackTop the initial RSP, 16-byte aligned
     * @return this builder
     * @throws IllegalArgumentException if the slot is out of range or the stack misaligned
     */
    public Builder interruptStack(int slot, long stackTop) {
      interruptStacks[checkSlot(slot) - 1] = checkStack(stackTop);
      return this;
    }

    /**
     * Lets CPL-3 code access {@code count} consecutive ports from {@code firstPort}.
     *
     * @param firstPort the first port
     * @param count the number of ports
     * @return this builder
     * @throws IllegalArgumentException if the ports are outside 0..0xFFFF or {@code count} is not
     *     positive
     */
    public Builder allowPortRange(int firstPort, int count) {
      if (count <= 0) {
        throw new IllegalArgumentException("port count %d must be positive".formatted(count));
      }
      checkPort(firstPort);
      checkPort(firstPort + count - 1);
      allowedPorts.set(firstPort, firstPort + count);
      return this;
    }

    /**
     * Lets CPL-3 code access each of {@code ports} (for byte accesses; see the class comment for
     * wider ones).
     *
     * @param ports the ports, each 0 to 0xFFFF
     * @return this builder
     * @throws IllegalArgumentException if a port is outside 0..0xFFFF
     */
    public Builder allowPorts(int... ports) {
      Objects.requireNonNull(ports, "ports");
      for (int port : ports) {
        allowedPorts.set(checkPort(port));
      }
      return this;
    }

    /** {@return the TSS} */
    public TaskStateSegment build() {
      return new TaskStateSegment(rsp0, interruptStacks, allowedPorts);
    }

    private static long checkStack(long stackTop) {
      if ((stackTop & 15) != 0) {
        throw new IllegalArgumentException(
            "stack top 0x%x must be 16-byte aligned".formatted(stackTop));
      }
      return stackTop;
    }
  }
}
