package dev.glint.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every route of a running demo server, through a real HTTP client, on KVM. */
class DemoServerTest {
  private static final String HELLO = "/hyperlight/hello-world/";

  private static DemoServer server;
  private static HttpClient client;

  @BeforeAll
  static void start() throws IOException {
    Kvm.require();
    server =
        DemoServer.builder()
            .port(0)
            .backend("kvm")
            .warmPoolSize(4)
            .warmPoolMinIdle(2)
            .drainTimeout(Duration.ofSeconds(5))
            .start();
    client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  }

  @AfterAll
  static void stop() {
    if (client != null) {
      client.close();
    }
    if (server != null) {
      ShutdownReport report = server.shutdown();
      assertTrue(report.clean(), report::toString);
    }
  }

  @Test
  void coldRouteBuildsCallsAndClosesASandbox() throws Exception {
    HttpResponse<String> response = get(HELLO + "cold");
    assertEquals(200, response.statusCode(), response::body);
    assertEquals("Hello, World!\n", response.body());
    assertEquals("13", response.headers().firstValue("X-Glint-Result").orElseThrow());
    assertEquals("kvm", response.headers().firstValue("X-Glint-Backend").orElseThrow());
    // The cold sandbox was closed before the response went out.
    assertEquals(0, counter("glint_demo_cold_sandboxes"));
  }

  @Test
  void warmRouteAnswersFromThePool() throws Exception {
    long before = counter("glint_demo_pool_acquired_total{pool=\"hello\"}");
    HttpResponse<String> response = get(HELLO + "warm");
    assertEquals(200, response.statusCode(), response::body);
    assertEquals("Hello, World!\n", response.body());
    assertEquals("text/plain; charset=utf-8", response.headers().firstValue("Content-Type").get());
    assertEquals(before + 1, counter("glint_demo_pool_acquired_total{pool=\"hello\"}"));
  }

  @Test
  void theGuestPrintsTheMessageItIsGiven() throws Exception {
    String message = "Grüße from a micro-VM & more";
    HttpResponse<String> response =
        get(HELLO + "warm?message=" + URLEncoder.encode(message, StandardCharsets.UTF_8));
    assertEquals(200, response.statusCode());
    assertEquals(message + "\n", response.body());
    assertEquals(
        Integer.toString(message.getBytes(StandardCharsets.UTF_8).length),
        response.headers().firstValue("X-Glint-Result").orElseThrow());

    HttpResponse<String> tooLong = get(HELLO + "cold?message=" + "x".repeat(1025));
    assertEquals(400, tooLong.statusCode());
    assertTrue(tooLong.body().contains("at most 1024"), tooLong.body());
  }

  @Test
  void vmCountIsThePoolsPlusColdSandboxes() throws Exception {
    // Pools top themselves up in the background (after a fault, say): count once they are done.
    awaitPoolsSettled();
    HttpResponse<String> response = get(HELLO + "vm-count");
    assertEquals(200, response.statusCode());
    int count = Integer.parseInt(response.body().strip());
    // Two idle warm sandboxes at least (min idle), one faults sandbox, no cold one in flight.
    assertTrue(count >= 3, "vm-count " + count);
    assertEquals(server.vmsAlive(), count);
    assertEquals(count, counter("glint_demo_vms_alive"));
  }

  @Test
  void aNullDereferenceIsA500WithTheFaultAndTheServerKeepsServing() throws Exception {
    long replaced = counter("glint_demo_pool_replaced_total{pool=\"faults\"}");
    long faults =
        counter(
            "glint_demo_requests_total{route=\""
                + HELLO
                + "safety/deref-raw-null-ptr\",outcome=\"guest_fault\"}");
    for (int i = 0; i < 3; i++) {
      HttpResponse<String> response = get(HELLO + "safety/deref-raw-null-ptr");
      assertEquals(500, response.statusCode());
      assertEquals("application/json", response.headers().firstValue("Content-Type").get());
      String body = response.body();
      assertTrue(body.contains("\"vector\":14"), body);
      assertTrue(body.contains("\"vectorName\":\"#PF (page fault)\""), body);
      assertTrue(body.contains("\"faultAddress\":\"0x0\""), body);
      assertTrue(Pattern.compile("\"rip\":\"0x[0-9a-f]+\"").matcher(body).find(), body);
      assertTrue(body.contains("\"function\":\"NullDeref\""), body);
      // And the server is unharmed.
      assertEquals(200, get(HELLO + "warm").statusCode());
      assertEquals(200, get("/noop").statusCode());
    }
    assertEquals(
        faults + 3,
        counter(
            "glint_demo_requests_total{route=\""
                + HELLO
                + "safety/deref-raw-null-ptr\",outcome=\"guest_fault\"}"));
    // Each faulted sandbox was closed and replaced, never reused.
    assertEquals(replaced + 3, counter("glint_demo_pool_replaced_total{pool=\"faults\"}"));
  }

  @Test
  void noopAndUnknownRoutesAndMethods() throws Exception {
    HttpResponse<String> noop = get("/noop");
    assertEquals(200, noop.statusCode());
    assertEquals("noop\n", noop.body());

    HttpResponse<String> missing = get("/hyperlight/hello-world/lukewarm");
    assertEquals(404, missing.statusCode());
    assertTrue(missing.body().contains("/hyperlight/hello-world/warm"), missing.body());

    HttpResponse<String> post =
        client.send(
            HttpRequest.newBuilder(server.uri().resolve("/noop"))
                .POST(HttpRequest.BodyPublishers.ofString("x"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(405, post.statusCode());
    assertEquals("GET", post.headers().firstValue("Allow").orElseThrow());
  }

  @Test
  void metricsCountRequestsPerRouteAndOutcome() throws Exception {
    String ok = "glint_demo_requests_total{route=\"" + HELLO + "cold\",outcome=\"ok\"}";
    String count = "glint_demo_request_duration_seconds_count{route=\"" + HELLO + "cold\"}";
    String inf =
        "glint_demo_request_duration_seconds_bucket{route=\"" + HELLO + "cold\",le=\"+Inf\"}";
    long okBefore = counter(ok);
    long countBefore = counter(count);
    for (int i = 0; i < 3; i++) {
      assertEquals(200, get(HELLO + "cold").statusCode());
    }
    awaitQuiet();
    HttpResponse<String> metrics = get("/metrics");
    assertEquals(200, metrics.statusCode());
    assertEquals(
        "text/plain; version=0.0.4; charset=utf-8",
        metrics.headers().firstValue("Content-Type").orElseThrow());
    assertEquals(okBefore + 3, value(metrics.body(), ok));
    assertEquals(countBefore + 3, value(metrics.body(), count));
    assertEquals(value(metrics.body(), count), value(metrics.body(), inf));
    for (String gauge :
        List.of(
            "glint_demo_pool_sandboxes{pool=\"hello\",state=\"idle\"}",
            "glint_demo_pool_sandboxes{pool=\"hello\",state=\"in_use\"}",
            "glint_demo_pool_created_total{pool=\"hello\"}",
            "glint_demo_pool_replaced_total{pool=\"hello\"}",
            "glint_demo_cold_sandboxes",
            "glint_demo_requests_in_flight")) {
      assertTrue(value(metrics.body(), gauge) >= 0, gauge);
    }
    assertTrue(metrics.body().contains("# TYPE glint_demo_request_duration_seconds histogram"));
  }

  @Test
  void eachRequestIsAJfrEvent(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("demo.jfr");
    try (Recording recording = new Recording()) {
      recording.enable("dev.glint.DemoRequest");
      recording.start();
      assertEquals(200, get(HELLO + "warm").statusCode());
      assertEquals(500, get(HELLO + "safety/deref-raw-null-ptr").statusCode());
      awaitQuiet();
      recording.stop();
      recording.dump(file);
    }
    List<RecordedEvent> all = RecordingFile.readAllEvents(file);
    List<RecordedEvent> events =
        all.stream()
            .filter(e -> e.getEventType().getName().equals("dev.glint.DemoRequest"))
            .toList();
    assertEquals(2, events.size(), all::toString);
    // Events come back per thread buffer, not in time order: find each request by its route.
    RecordedEvent warm = byRoute(events, HELLO + "warm");
    RecordedEvent fault = byRoute(events, HELLO + "safety/deref-raw-null-ptr");
    assertEquals(200, warm.getInt("status"));
    assertEquals("ok", warm.getString("outcome"));
    assertTrue(warm.getDuration().toNanos() > 0);
    // The sandbox's own events of a request are on the request's thread, within its time.
    List<RecordedEvent> warmCalls =
        all.stream()
            .filter(e -> e.getEventType().getName().equals("dev.glint.GuestCall"))
            .filter(e -> e.getThread().getJavaThreadId() == warm.getThread().getJavaThreadId())
            .filter(e -> !e.getStartTime().isBefore(warm.getStartTime()))
            .filter(e -> !e.getEndTime().isAfter(warm.getEndTime()))
            .toList();
    assertEquals(1, warmCalls.size(), all::toString);
    assertEquals(500, fault.getInt("status"));
    assertEquals("guest_fault", fault.getString("outcome"));
  }

  private static RecordedEvent byRoute(List<RecordedEvent> events, String route) {
    return events.stream()
        .filter(e -> route.equals(e.getString("route")))
        .findFirst()
        .orElseThrow(
            () -> new AssertionError("no DemoRequest event for " + route + " in " + events));
  }

  @Test
  void concurrentWarmRequestsEachGetTheirOwnOutput() throws Exception {
    assertConcurrentRequests("warm", 200, 8);
  }

  @Test
  void concurrentColdRequestsEachGetTheirOwnOutput() throws Exception {
    assertConcurrentRequests("cold", 40, 8);
  }

  /**
   * Sends {@code total} requests with distinct messages over {@code threads} threads: each must be
   * 200 and carry its own message, which shows the pool's shared print sink routes each guest's
   * output to the request that made the call.
   */
  private static void assertConcurrentRequests(String route, int total, int threads)
      throws Exception {
    try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
      List<Future<String>> answers = new ArrayList<>();
      for (int i = 0; i < total; i++) {
        String message = "request-" + route + "-" + i;
        answers.add(
            pool.submit(
                () -> {
                  HttpResponse<String> response = get(HELLO + route + "?message=" + message);
                  assertEquals(200, response.statusCode(), response::body);
                  return response.body();
                }));
      }
      for (int i = 0; i < total; i++) {
        assertEquals("request-" + route + "-" + i + "\n", answers.get(i).get());
      }
    }
  }

  private static long counter(String series) throws Exception {
    awaitQuiet();
    return value(get("/metrics").body(), series);
  }

  /** Waits until neither pool is building a sandbox. */
  private static void awaitPoolsSettled() throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
    while (System.nanoTime() < deadline) {
      String page = get("/metrics").body();
      if (value(page, "glint_demo_pool_sandboxes{pool=\"hello\",state=\"building\"}") == 0
          && value(page, "glint_demo_pool_sandboxes{pool=\"faults\",state=\"building\"}") == 0) {
        return;
      }
      Thread.sleep(5);
    }
  }

  /**
   * Waits until no request is in flight. A request is counted just after its response is sent, so a
   * client can see the response a moment before the metrics count it.
   */
  private static void awaitQuiet() throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
    while (server.requestsInFlight() > 0 && System.nanoTime() < deadline) {
      Thread.sleep(1);
    }
  }

  /** {@return the value of {@code series} in a Prometheus text page; 0 if it is absent} */
  private static long value(String page, String series) {
    Matcher m =
        Pattern.compile("^" + Pattern.quote(series) + " (\\S+)$", Pattern.MULTILINE).matcher(page);
    return m.find() ? (long) Double.parseDouble(m.group(1)) : 0;
  }

  private static HttpResponse<String> get(String path) throws IOException, InterruptedException {
    return client.send(
        HttpRequest.newBuilder(URI.create(server.uri() + path))
            .timeout(Duration.ofSeconds(30))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
