package dev.glint.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glint.guest.SampleGuests;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Closing, calls after close, concurrent calls, argument values without an encoding. */
@Timeout(60)
class SandboxLifecycleTest {

  @ParameterizedTest
  @EnumSource(PrivilegeLevel.class)
  void closeIsIdempotentAndCallsAfterItFail(PrivilegeLevel level) {
    Sandbox sandbox = TestSandboxes.builder(SampleGuests.COMPUTE, level).build();
    sandbox.close();
    sandbox.close();
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> sandbox.call("Noop", ValueType.VOID));
    assertTrue(e.getMessage().contains("closed"));
  }

  @ParameterizedTest
  @EnumSource(PrivilegeLevel.class)
  void callsFromManyThreadsSerialize(PrivilegeLevel level) throws Exception {
    AtomicInteger inside = new AtomicInteger();
    AtomicInteger overlaps = new AtomicInteger();
    try (Sandbox sandbox =
            TestSandboxes.builder(SampleGuests.HELLO, level)
                .hostFunction(
                    "HostPrint",
                    ValueType.I32,
                    ValueType.STRING,
                    text -> {
                      if (inside.incrementAndGet() != 1) {
                        overlaps.incrementAndGet();
                      }
                      Thread.onSpinWait();
                      inside.decrementAndGet();
                      return text.length();
                    })
                .build();
        ExecutorService threads = Executors.newFixedThreadPool(4)) {
      List<Future<Integer>> results = new ArrayList<>();
      for (int i = 0; i < 40; i++) {
        String text = "x".repeat(i);
        results.add(threads.submit(() -> sandbox.call("PrintOutput", ValueType.I32, text)));
      }
      for (int i = 0; i < results.size(); i++) {
        assertEquals(i, results.get(i).get());
      }
    }
    assertEquals(0, overlaps.get(), "host functions of one sandbox never run concurrently");
  }

  @ParameterizedTest
  @EnumSource(PrivilegeLevel.class)
  void aStringWithoutUtf8FormIsRefusedBeforeTheGuestRuns(PrivilegeLevel level) {
    try (Sandbox sandbox =
        TestSandboxes.builder(SampleGuests.HELLO, level).printTo(s -> {}).build()) {
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> sandbox.call("PrintOutput", ValueType.I32, "a\uDC00b"));
      assertTrue(e.getMessage().contains("unpaired surrogate"), e.getMessage());
      assertEquals(1, sandbox.call("PrintOutput", ValueType.I32, "a"));
    }
  }
}
