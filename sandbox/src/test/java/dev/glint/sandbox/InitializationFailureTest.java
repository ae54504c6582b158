package dev.glint.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glint.guest.SampleGuests;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** A guest that fails before READY fails {@code build()} with its typed error. */
@Timeout(60)
class InitializationFailureTest {

  @ParameterizedTest
  @EnumSource(PrivilegeLevel.class)
  void anAbortDuringInitializationFailsTheBuild(PrivilegeLevel level) {
    GuestAbortedException e =
        assertThrows(
            GuestAbortedException.class,
            () -> TestSandboxes.builder(SampleGuests.BADINIT, level).build());
    assertEquals(-2, e.code());
    assertEquals("glint_register(Twice): name registered twice", e.guestMessage());
    assertTrue(e.getMessage().contains("during the initialization"), e.getMessage());
  }

  @ParameterizedTest
  @EnumSource(PrivilegeLevel.class)
  void buildingAgainAfterAFailedBuildWorks(PrivilegeLevel level) {
    // A failed build must close what it created; many of them in a row must not run out of
    // anything (file descriptors, guest memory).
    assertThrows(
        GuestAbortedException.class,
        () -> TestSandboxes.builder(SampleGuests.BADINIT, level).build());
    long before = openFileDescriptors();
    for (int i = 0; i < 20; i++) {
      assertThrows(
          GuestAbortedException.class,
          () -> TestSandboxes.builder(SampleGuests.BADINIT, level).build());
    }
    long after = openFileDescriptors();
    // Each leaked build would keep at least a VM and a vCPU descriptor: 40 for 20 builds.
    assertTrue(after - before < 5, () -> "open descriptors %d -> %d".formatted(before, after));
    try (Sandbox sandbox =
        TestSandboxes.builder(SampleGuests.HELLO, level).printTo(s -> {}).build()) {
      assertEquals(2, sandbox.call("PrintOutput", ValueType.I32, "ok"));
    }
  }

  /** {@return the number of open file descriptors of this process (Linux)} */
  private static long openFileDescriptors() {
    try (var fds = java.nio.file.Files.list(java.nio.file.Path.of("/proc/self/fd"))) {
      return fds.count();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
