package dev.glint.guest;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * The sample guests built with the Glint guest SDK, as ELF bytes.
 *
 * <p>Each guest is a resource {@code dev/glint/guest/NAME.elf} of this module; their functions and
 * signatures are listed in {@code guest/README.md} and at the top of each {@code
 * guest/samples/NAME.c}.
 */
public final class SampleGuests {

  /**
   * {@code PrintOutput(string) -> i32}, which calls the host's {@code HostPrint(string) -> i32}.
   */
  public static final String HELLO = "hello";

  /** One function per wire type returning its argument, plus multi-argument and host-call tests. */
  public static final String ECHO = "echo";

  /** {@code Sha256(bytes) -> bytes} and {@code SumBytes(bytes) -> u64}. */
  public static final String COMPUTE = "compute";

  /** One function per guest fault: null dereference, divide by zero, stack overflow, and so on. */
  public static final String FAULTS = "faults";

  /**
   * Never becomes ready: registers one name twice, so the SDK aborts during initialization with
   * code -2 and the message {@code "glint_register(Twice): name registered twice"}.
   */
  public static final String BADINIT = "badinit";

  /**
   * For snapshots and restore: a counter in {@code .bss} ({@code Increment() -> i64}, {@code
   * Counter() -> i64}), heap blocks that are never freed ({@code Allocate(i32) -> i64}, {@code
   * Allocated() -> i64}), a call that writes exactly n pages ({@code TouchPages(i32) -> i32}), a
   * call as long as asked ({@code Work(i64) -> i64}) and one that never ends ({@code Spin() ->
   * void}).
   */
  public static final String STATE = "state";

  /**
   * Attacks its host: garbage records before every signal, lengths larger than the buffer, strings
   * outside guest memory, host-call floods and re-entry, heap and stack exhaustion, writes to its
   * own code, wild jumps, privileged instructions ({@code wrmsr}, {@code lgdt}, {@code cli; hlt})
   * and endless loops; {@code Ok(i32) -> i32} checks that it still works (see {@code
   * guest/samples/hostile.c} and {@code docs/reliability.md}).
   */
  public static final String HOSTILE = "hostile";

  /** Every sample guest's name. */
  public static final List<String> ALL =
      List.of(HELLO, ECHO, COMPUTE, FAULTS, BADINIT, STATE, HOSTILE);

  private SampleGuests() {}

  /**
   * Returns the ELF image of a sample guest.
   *
   * @param name one of {@link #ALL}
   * @return a fresh copy of the guest's bytes
   * @throws IllegalArgumentException if there is no guest of that name
   * @throws UncheckedIOException if the resource cannot be read
   */
  public static byte[] load(String name) {
    if (!ALL.contains(name)) {
      throw new IllegalArgumentException("no sample guest named '" + name + "'; known: " + ALL);
    }
    String resource = name + ".elf";
    try (InputStream in = SampleGuests.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException(
            "sample guest resource dev/glint/guest/"
                + resource
                + " is missing from the glint-guest jar (was it built with make?)");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException("reading sample guest " + resource, e);
    }
  }
}
