package dev.glint.sandbox;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.glint.guest.SampleGuests;
import java.security.MessageDigest;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The {@code compute} guest agrees with the JDK at both privilege levels. */
@Timeout(60)
class ComputeGuestTest {

  @ParameterizedTest
  @EnumSource(PrivilegeLevel.class)
  void sha256AndSumsMatchTheJdk(PrivilegeLevel level) throws Exception {
    // At CPL 0 on a PVM host every guest instruction is emulated (about 1 µs each): hash 1 KiB
    // there, 1 MiB at CPL 3.
    int size = level == PrivilegeLevel.USER ? 1 << 20 : 1 << 10;
    byte[] data = new byte[size];
    long sum = 0;
    for (int i = 0; i < size; i++) {
      data[i] = (byte) (i * 131 + 17);
      sum += data[i] & 0xFF;
    }
    try (Sandbox sandbox = TestSandboxes.builder(SampleGuests.COMPUTE, level).build()) {
      assertArrayEquals(
          MessageDigest.getInstance("SHA-256").digest(data),
          sandbox.call("Sha256", ValueType.BYTES, (Object) data));
      assertEquals(sum, sandbox.call("SumBytes", ValueType.U64, (Object) data));
      assertEquals(Integer.MIN_VALUE, sandbox.call("Add", ValueType.I32, Integer.MAX_VALUE, 1));
      assertEquals(null, sandbox.call("Noop", ValueType.VOID));
    }
  }
}
