package dev.glint.hv.mshv.internal.sys;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;
import java.util.Optional;

/**
 * glibc's x86-64 {@code struct sigaction} of {@code <signal.h>} (glibc 2.36; 152 bytes, {@code
 * sa_handler} @0, {@code sa_mask} @8, {@code sa_flags} @136, {@code sa_restorer} @144), and the
 * installation of a do-nothing handler for the signal that kicks a vCPU out of {@code MSHV_RUN_VP}.
 *
 * <p>The handler is machine code, not an FFM upcall: an upcall stub aborts the JVM when the signal
 * lands on a thread that is parked in Java. Five bytes, {@code endbr64; ret}, are written into an
 * anonymous page mapped read-write, which is then made read+execute with {@code mprotect} and never
 * unmapped (a signal may arrive at any time for the life of the process). glibc's {@code sigaction}
 * supplies the restorer ({@code __restore_rt}) itself. {@code SA_RESTART} makes other system calls
 * on the thread restart after the handler; {@code MSHV_RUN_VP} still returns {@code EINTR}.
 */
public final class Sigaction {
  /** The layout, 152 bytes. */
  public static final StructLayout LAYOUT =
      MemoryLayout.structLayout(
          ADDRESS.withName("sa_handler"),
          MemoryLayout.sequenceLayout(16, JAVA_LONG).withName("sa_mask"),
          JAVA_INT.withName("sa_flags"),
          MemoryLayout.paddingLayout(4),
          ADDRESS.withName("sa_restorer"));

  public static final int SA_RESTART = 0x10000000;
  public static final long SIG_DFL = 0;
  public static final long SIG_IGN = 1;
  public static final int SIGRTMIN = 34;
  public static final int SIGRTMAX = 64;

  /** {@code endbr64} (f3 0f 1e fa), a no-op where CET is off, then {@code ret} (c3). */
  private static final byte[] HANDLER_CODE = {(byte) 0xF3, 0x0F, 0x1E, (byte) 0xFA, (byte) 0xC3};

  private static final long PAGE = 4096;
  private static final VarHandle SA_HANDLER = LAYOUT.varHandle(groupElement("sa_handler"));
  private static final VarHandle SA_FLAGS = LAYOUT.varHandle(groupElement("sa_flags"));

  private Sigaction() {}

  /**
   * Installs the do-nothing handler for {@code signal}, unless the signal already has it. Refuses
   * when the current disposition is neither {@code SIG_DFL} nor such a handler (someone else owns
   * the signal).
   *
   * @param property the system property that chooses the signal, named in the refusal
   * @return empty on success, else why it was refused or failed
   */
  public static Optional<String> installNoOpHandler(int signal, String property) {
    if (signal < SIGRTMIN || signal > SIGRTMAX) {
      return Optional.of(
          "signal %d is not a real-time signal; set -D%s to a value from %d to %d"
              .formatted(signal, property, SIGRTMIN, SIGRTMAX));
    }
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment old = arena.allocate(LAYOUT);
      int result = Libc.sigaction(signal, MemorySegment.NULL, old);
      if (result < 0) {
        return Optional.of("sigaction(%d) failed: %s".formatted(signal, Errno.name(-result)));
      }
      long current = ((MemorySegment) SA_HANDLER.get(old, 0L)).address();
      if (current != SIG_DFL) {
        if (current != SIG_IGN && isNoOpHandler(current)) {
          return Optional.empty(); // another copy of this backend in the process installed it
        }
        return Optional.of(
            "signal %d already has a disposition (%s) that Glint did not install; choose a free"
                    .formatted(
                        signal, current == SIG_IGN ? "SIG_IGN" : "handler 0x%x".formatted(current))
                + " real-time signal with -D%s=N (%d to %d)"
                    .formatted(property, SIGRTMIN, SIGRTMAX));
      }
      long page =
          Libc.mmap(
              PAGE, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS, -1);
      if (page < 0) {
        return Optional.of("mmap of the handler page failed: " + Errno.name((int) -page));
      }
      MemorySegment.copy(
          HANDLER_CODE,
          0,
          Libc.view(page, PAGE),
          java.lang.foreign.ValueLayout.JAVA_BYTE,
          0,
          HANDLER_CODE.length);
      result = Libc.mprotect(page, PAGE, Libc.PROT_READ | Libc.PROT_EXEC);
      if (result < 0) {
        Libc.munmap(page, PAGE);
        return Optional.of("mprotect of the handler page failed: " + Errno.name(-result));
      }
      MemorySegment action = arena.allocate(LAYOUT); // zeroed: empty sa_mask, no restorer
      SA_HANDLER.set(action, 0L, MemorySegment.ofAddress(page));
      SA_FLAGS.set(action, 0L, SA_RESTART);
      result = Libc.sigaction(signal, action, MemorySegment.NULL);
      if (result < 0) {
        Libc.munmap(page, PAGE);
        return Optional.of("sigaction(%d) failed: %s".formatted(signal, Errno.name(-result)));
      }
      return Optional.empty();
    }
  }

  /** Whether the code at {@code address} is our five bytes (readable: it is a handler address). */
  private static boolean isNoOpHandler(long address) {
    MemorySegment code = Libc.view(address, HANDLER_CODE.length);
    for (int i = 0; i < HANDLER_CODE.length; i++) {
      if (code.get(java.lang.foreign.ValueLayout.JAVA_BYTE, i) != HANDLER_CODE[i]) {
        return false;
      }
    }
    return true;
  }
}
