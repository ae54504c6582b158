package dev.glint.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Builder validation: everything that fails before a hypervisor is opened. */
class SandboxBuilderTest {

  @Test
  void sizesOutsideTheirRangeNameValueAndRange() {
    Sandbox.Builder builder = Sandbox.builder();
    IllegalArgumentException memory =
        assertThrows(IllegalArgumentException.class, () -> builder.memorySize(3L << 20));
    assertEquals(
        "memory size 3145728 is outside the allowed range: 4194304 (4 MiB) to 17179869184"
            + " (16 GiB), a multiple of 2097152",
        memory.getMessage());
    assertThrows(IllegalArgumentException.class, () -> builder.memorySize((8L << 20) + 4096));
    assertThrows(IllegalArgumentException.class, () -> builder.memorySize(32L << 30));
    IllegalArgumentException heap =
        assertThrows(IllegalArgumentException.class, () -> builder.heapSize(4097));
    assertTrue(heap.getMessage().startsWith("heap size 4097 is outside the allowed range: 4096"));
    assertThrows(IllegalArgumentException.class, () -> builder.stackSize(8 << 10));
    assertThrows(IllegalArgumentException.class, () -> builder.inputBufferSize(0));
    assertThrows(IllegalArgumentException.class, () -> builder.outputBufferSize(2L << 30));
    IllegalArgumentException timeout =
        assertThrows(
            IllegalArgumentException.class,
            () -> builder.callTimeout(java.time.Duration.ofNanos(999_999)));
    assertTrue(timeout.getMessage().contains("1 ms) to PT24H (1 day)"), timeout.getMessage());
    assertThrows(
        IllegalArgumentException.class, () -> builder.callTimeout(java.time.Duration.ofDays(2)));
    builder.callTimeout(java.time.Duration.ofSeconds(1));
    builder.memorySize(16L << 20).heapSize(4096).stackSize(16 << 10).inputBufferSize(4096);
  }

  @Test
  void buildWithoutAGuestIsAnError() {
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> Sandbox.builder().build());
    assertTrue(e.getMessage().contains("no guest"));
  }

  @Test
  void aBadImageFailsBeforeAnyBackendIsLookedUp() {
    // The backend does not exist: the image check must come first.
    GuestImageException e =
        assertThrows(
            GuestImageException.class,
            () -> Sandbox.builder().guest(new byte[] {0x7F, 'E', 'L'}).backend("none").build());
    assertTrue(e.getMessage().contains("rule 1"), e.getMessage());
  }

  @Test
  void anUnreadableImageIsAGuestImageException(@TempDir Path dir) throws Exception {
    Path missing = dir.resolve("missing.elf");
    GuestImageException e =
        assertThrows(GuestImageException.class, () -> Sandbox.builder().guest(missing).build());
    assertTrue(e.getMessage().contains("missing.elf"), e.getMessage());
    Path empty = Files.write(dir.resolve("empty.elf"), new byte[0]);
    GuestImageException rule =
        assertThrows(GuestImageException.class, () -> Sandbox.builder().guest(empty).build());
    assertTrue(rule.getMessage().contains("empty.elf: rule 1"), rule.getMessage());
  }

  @Test
  void hostFunctionDeclarationsAreChecked() {
    Sandbox.Builder builder = Sandbox.builder();
    builder.hostFunction("Add", ValueType.I32, ValueType.I32, ValueType.I32, Integer::sum);
    IllegalArgumentException twice =
        assertThrows(
            IllegalArgumentException.class,
            () -> builder.hostFunction("Add", ValueType.I32, () -> 1));
    assertTrue(twice.getMessage().contains("already declared"));
    assertThrows(
        IllegalArgumentException.class, () -> builder.hostFunction("", ValueType.I32, () -> 1));
    assertThrows(
        IllegalArgumentException.class,
        () -> builder.hostFunction("x".repeat(256), ValueType.I32, () -> 1));
    assertThrows(
        IllegalArgumentException.class,
        () -> builder.hostFunction("V", ValueType.I32, ValueType.VOID, v -> 1));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            builder.hostFunction(
                "Many",
                ValueType.VOID,
                java.util.Collections.nCopies(17, ValueType.I32),
                a -> null));
  }

  @Test
  void valueTypesMapToTheirJavaTypes() {
    assertEquals(10, ValueType.values().size());
    for (int tag = 0; tag < 10; tag++) {
      assertEquals(tag, ValueType.ofTag(tag).tag());
    }
    assertEquals(byte[].class, ValueType.BYTES.javaType());
    assertTrue(ValueType.VOID.isInstance(null));
    assertTrue(!ValueType.I32.isInstance(1L));
    assertInstanceOf(ClassCastException.class, catchThrowable(() -> ValueType.I64.cast(1)));
    assertEquals("f64", ValueType.F64.toString());
    assertEquals(
        "add(i32, i32) -> i32",
        new GuestFunction("add", ValueType.I32, List.of(ValueType.I32, ValueType.I32)).toString());
  }

  private static Throwable catchThrowable(Runnable r) {
    try {
      r.run();
      return null;
    } catch (Throwable t) {
      return t;
    }
  }
}
