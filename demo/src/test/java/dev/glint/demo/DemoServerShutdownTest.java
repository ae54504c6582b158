package dev.glint.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.BindException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** Shutting the demo down: in-flight requests finish, every micro-VM and descriptor is freed. */
class DemoServerShutdownTest {

  @Test
  void shutdownFreesEveryMicroVmAndDescriptor() throws Exception {
    Kvm.require();
    // Once first, so that what the JVM opens for good on first use (jars, the HTTP client's
    // selector) is open before the count.
    cycle();
    long before = Kvm.openFileDescriptors();
    Set<String> held = Kvm.descriptors();
    ShutdownReport report = cycle();
    assertTrue(report.clean(), report::toString);
    assertEquals(0, report.vmsAlive());
    assertTrue(report.requestsServed() >= 6, report::toString);
    long after = Kvm.awaitDescriptorsAtMost(before, Duration.ofSeconds(5));
    assertTrue(
        after <= before,
        () ->
            "open descriptors: %d before, %d after; new: %s"
                .formatted(before, after, Kvm.newDescriptors(held)));
  }

  /** Starts a server, serves every route once, shuts it down; {@return the report} */
  private static ShutdownReport cycle() throws Exception {
    URI uri;
    ShutdownReport report;
    try (HttpClient client = HttpClient.newHttpClient()) {
      DemoServer server = DemoServer.builder().port(0).backend("kvm").warmPoolSize(2).start();
      uri = server.uri();
      assertTrue(server.vmsAlive() >= 2, "vms alive " + server.vmsAlive());
      for (String path : DemoServer.routes()) {
        client.send(
            HttpRequest.newBuilder(uri.resolve(path)).build(),
            HttpResponse.BodyHandlers.ofString());
      }
      report = server.shutdown();
      assertEquals(0, server.vmsAlive());
      // Idempotent: the same report again.
      assertEquals(report, server.shutdown());
    }
    try (HttpClient client = HttpClient.newHttpClient()) {
      assertThrows(
          ConnectException.class,
          () ->
              client.send(
                  HttpRequest.newBuilder(uri.resolve("/noop")).build(),
                  HttpResponse.BodyHandlers.ofString()));
    }
    return report;
  }

  @Test
  void requestsInFlightFinishBeforeTheMicroVmsAreFreed() throws Exception {
    Kvm.require();
    DemoServer server =
        DemoServer.builder()
            .port(0)
            .backend("kvm")
            .warmPoolSize(2)
            .drainTimeout(Duration.ofSeconds(20))
            .start();
    List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
    try (HttpClient client = HttpClient.newHttpClient()) {
      for (int i = 0; i < 24; i++) {
        String path = i % 2 == 0 ? "/hyperlight/hello-world/cold" : "/hyperlight/hello-world/warm";
        answers.add(
            client.sendAsync(
                HttpRequest.newBuilder(server.uri().resolve(path)).build(),
                HttpResponse.BodyHandlers.ofString()));
      }
      // Shut down while the requests are being served: those accepted finish, the rest are
      // refused, and none gets an error from a sandbox closed under it.
      while (server.requestsInFlight() == 0
          && answers.stream().noneMatch(CompletableFuture::isDone)) {
        Thread.onSpinWait();
      }
      ShutdownReport report = server.shutdown();
      assertEquals(0, report.requestsCutOff(), report::toString);
      assertEquals(0, report.vmsAlive(), report::toString);
      int served = 0;
      for (CompletableFuture<HttpResponse<String>> answer : answers) {
        try {
          HttpResponse<String> response = answer.join();
          assertTrue(
              response.statusCode() == 200 || response.statusCode() == 503,
              () -> response.statusCode() + ": " + response.body());
          if (response.statusCode() == 200) {
            served++;
            assertEquals("Hello, World!\n", response.body());
          }
        } catch (java.util.concurrent.CompletionException e) {
          // Connections not yet accepted when the server stopped listening are refused or reset.
          assertTrue(e.getCause() instanceof IOException, e::toString);
        }
      }
      assertTrue(served > 0, "no request was served before the shutdown");
    }
  }

  @Test
  void aPortInUseFailsTheStartAndLeavesNothingBehind() throws Exception {
    Kvm.require();
    try (DemoServer first = DemoServer.builder().port(0).backend("kvm").warmPoolSize(1).start()) {
      int port = first.address().getPort();
      long before = Kvm.openFileDescriptors();
      Set<String> held = Kvm.descriptors();
      assertThrows(
          BindException.class,
          () -> DemoServer.builder().port(port).backend("kvm").warmPoolSize(1).start());
      // The port is checked before any sandbox is built: nothing to free.
      long after = Kvm.awaitDescriptorsAtMost(before, Duration.ofSeconds(5));
      assertTrue(
          after <= before,
          () ->
              "open descriptors: %d before, %d after; new: %s"
                  .formatted(before, after, Kvm.newDescriptors(held)));
    }
  }

  @Test
  void theBuilderRefusesValuesOutOfRange() {
    DemoServer.Builder builder = DemoServer.builder();
    IllegalArgumentException port =
        assertThrows(IllegalArgumentException.class, () -> builder.port(70000));
    assertTrue(port.getMessage().contains("0 to 65535"), port.getMessage());
    assertThrows(IllegalArgumentException.class, () -> builder.warmPoolSize(0));
    assertThrows(IllegalArgumentException.class, () -> builder.maxColdInFlight(0));
    assertThrows(
        IllegalArgumentException.class, () -> builder.drainTimeout(Duration.ofSeconds(-1)));
    assertThrows(IllegalArgumentException.class, () -> builder.callTimeout(Duration.ZERO));
    assertThrows(
        IllegalArgumentException.class,
        () -> DemoServer.builder().warmPoolSize(1).warmPoolMinIdle(2).start());
  }
}
