package dev.glint.sandbox;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glint.guest.SampleGuests;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The limits a sandbox enforces, on KVM: guest memory (the heap cannot grow past its size, and a
 * memory size outside the allowed range is refused before any VM exists), argument size (refused
 * before the guest runs) and result size (bounded by the output buffer), and call time.
 */
@Timeout(60)
class LimitsTest {

  @Test
  void theHeapCannotGrowPastItsLimitAndTheSandboxStaysUsable() {
    try (Sandbox sandbox =
        TestSandboxes.builder(SampleGuests.STATE, PrivilegeLevel.USER).heapSize(64 << 10).build()) {
      GuestErrorException e =
          assertThrows(
              GuestErrorException.class, () -> sandbox.call("Allocate", ValueType.I64, 100_000));
      assertTrue(e.getMessage().contains("out of heap"), e.getMessage());
      assertFalse(sandbox.isPoisoned());
      assertEquals(1000L, sandbox.call("Allocate", ValueType.I64, 1000));
    }
  }

  @Test
  void aMemorySizeBeyondTheLimitIsRefusedBeforeAnyVmExists() {
    Sandbox.Builder builder = Sandbox.builder();
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> builder.memorySize(32L << 30));
    assertTrue(e.getMessage().contains("16 GiB"), e.getMessage());
  }

  @Test
  void anArgumentLargerThanTheInputBufferIsRefusedBeforeTheGuestRuns() {
    try (Sandbox sandbox =
        TestSandboxes.builder(SampleGuests.ECHO, PrivilegeLevel.USER)
            .inputBufferSize(16 << 10)
            .build()) {
      byte[] big = new byte[20 << 10];
      ArgumentTooLargeException e =
          assertThrows(
              ArgumentTooLargeException.class,
              () -> sandbox.call("EchoBytes", ValueType.BYTES, (Object) big));
      assertTrue(e.getMessage().contains("input buffer"), e.getMessage());
      assertFalse(sandbox.isPoisoned());
      byte[] small = new byte[1000];
      assertArrayEquals(small, sandbox.call("EchoBytes", ValueType.BYTES, (Object) small));
    }
  }

  @Test
  void aResultLargerThanTheOutputBufferIsAGuestErrorAndTheSandboxStaysUsable() {
    try (Sandbox sandbox =
        TestSandboxes.builder(SampleGuests.ECHO, PrivilegeLevel.USER)
            .inputBufferSize(64 << 10)
            .outputBufferSize(16 << 10)
            .build()) {
      byte[] big = new byte[20 << 10];
      SandboxException e =
          assertThrows(
              SandboxException.class,
              () -> sandbox.call("EchoBytes", ValueType.BYTES, (Object) big));
      assertTrue(e instanceof GuestErrorException, e.toString());
      assertFalse(sandbox.isPoisoned());
      byte[] small = new byte[1000];
      assertArrayEquals(small, sandbox.call("EchoBytes", ValueType.BYTES, (Object) small));
    }
  }

  @Test
  void aCallTimeoutOutOfRangeIsRefusedBeforeTheGuestRuns() {
    try (Sandbox sandbox = TestSandboxes.builder(SampleGuests.STATE, PrivilegeLevel.USER).build()) {
      assertThrows(
          IllegalArgumentException.class,
          () -> sandbox.call(Duration.ofNanos(10), "Increment", ValueType.I64));
      assertEquals(1L, sandbox.call(Duration.ofSeconds(5), "Increment", ValueType.I64));
    }
  }
}
