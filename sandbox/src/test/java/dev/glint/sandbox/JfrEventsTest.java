package dev.glint.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glint.guest.SampleGuests;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The sandbox's JDK Flight Recorder events. */
@Timeout(60)
class JfrEventsTest {

  @Test
  void buildAndCallsAreRecorded(@TempDir Path dir) throws Exception {
    TestSandboxes.requireBackend();
    Path file = dir.resolve("glint.jfr");
    try (Recording recording = new Recording()) {
      recording.enable("dev.glint.SandboxCreated");
      recording.enable("dev.glint.GuestCall");
      recording.start();
      try (Sandbox sandbox =
          TestSandboxes.builder(SampleGuests.HELLO, PrivilegeLevel.USER)
              .printTo(text -> {})
              .build()) {
        sandbox.call("PrintOutput", ValueType.I32, "recorded");
        assertThrows(
            GuestFunctionNotFoundException.class, () -> sandbox.call("Nope", ValueType.I32));
      }
      recording.stop();
      recording.dump(file);
    }
    List<RecordedEvent> events = RecordingFile.readAllEvents(file);
    RecordedEvent created =
        events.stream()
            .filter(e -> e.getEventType().getName().equals("dev.glint.SandboxCreated"))
            .findFirst()
            .orElseThrow(() -> new AssertionError("no SandboxCreated event in " + events));
    assertEquals(TestSandboxes.BACKEND, created.getString("backend"));
    assertEquals("USER", created.getString("privilegeLevel"));
    assertEquals(8L << 20, created.getLong("memorySize"));
    assertEquals(1, created.getInt("functionCount"));
    assertTrue(created.getDuration().toNanos() > 0);
    List<RecordedEvent> calls =
        events.stream()
            .filter(e -> e.getEventType().getName().equals("dev.glint.GuestCall"))
            .toList();
    assertEquals(2, calls.size(), () -> "calls: " + calls);
    RecordedEvent ok =
        calls.stream()
            .filter(e -> e.getString("function").equals("PrintOutput"))
            .findFirst()
            .orElseThrow();
    assertEquals("ok", ok.getString("outcome"));
    assertEquals(2, ok.getInt("exits"), "one HOST_CALL exit and one RETURN exit");
    RecordedEvent refused =
        calls.stream()
            .filter(e -> e.getString("function").equals("Nope"))
            .findFirst()
            .orElseThrow();
    assertEquals("refused", refused.getString("outcome"));
    assertEquals(0, refused.getInt("exits"));
    assertTrue(Files.size(file) > 0);
  }

  @Test
  void restoresAreRecordedWithThePagesTheyReset(@TempDir Path dir) throws Exception {
    TestSandboxes.requireBackend();
    Path file = dir.resolve("restore.jfr");
    try (Recording recording = new Recording()) {
      recording.enable("dev.glint.SandboxRestored");
      recording.start();
      try (Sandbox sandbox =
              TestSandboxes.builder(SampleGuests.STATE, PrivilegeLevel.USER).build();
          Snapshot snapshot = sandbox.snapshot()) {
        sandbox.call("TouchPages", ValueType.I32, 3);
        sandbox.restore(snapshot);
      }
      recording.stop();
      recording.dump(file);
    }
    List<RecordedEvent> restores =
        RecordingFile.readAllEvents(file).stream()
            .filter(e -> e.getEventType().getName().equals("dev.glint.SandboxRestored"))
            .toList();
    assertEquals(1, restores.size(), () -> "restores: " + restores);
    int pages = restores.getFirst().getInt("pagesReset");
    if (TestSandboxes.backendHas(dev.glint.hv.Capability.DIRTY_PAGE_TRACKING)) {
      assertTrue(pages >= 3 && pages < 64, "the 3 touched pages and the call's own, got " + pages);
    } else {
      // Without dirty-page tracking a restore cannot know what was written: it resets every page.
      assertTrue(pages >= 64, "a backend without dirty tracking resets all pages, got " + pages);
    }
  }
}
