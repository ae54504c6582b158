package dev.glint.demo.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glint.sandbox.PoolStats;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The Prometheus text the metrics render, without a server. */
class MetricsTest {
  private static final Metrics.Gauges GAUGES =
      new Metrics.Gauges(
          List.of(new SandboxFleet.PoolGauge("hello", new PoolStats(5, 2, 1, 1, 40, 3, 0, 0))),
          2,
          5,
          1);

  @Test
  void countsRequestsPerRouteAndOutcome() {
    Metrics metrics = new Metrics();
    metrics.record(Route.WARM, "ok", 50_000);
    metrics.record(Route.WARM, "ok", 70_000);
    metrics.record(Route.WARM, "busy", 5_000_000);
    metrics.record(Route.DEREF_NULL, "guest_fault", 900_000);
    String page = metrics.render(GAUGES);
    assertEquals(
        2,
        value(
            page,
            "glint_demo_requests_total{route=\"/hyperlight/hello-world/warm\",outcome=\"ok\"}"));
    assertEquals(
        1,
        value(
            page,
            "glint_demo_requests_total{route=\"/hyperlight/hello-world/warm\",outcome=\"busy\"}"));
    assertEquals(
        1,
        value(
            page,
            "glint_demo_requests_total{route=\"/hyperlight/hello-world/safety/deref-raw-null-ptr\",outcome=\"guest_fault\"}"));
    assertEquals(4, metrics.requests());
    assertEquals(2, metrics.requests(Route.WARM, "ok"));
    // A route without requests has no series, rather than zeros.
    assertFalse(page.contains("route=\"/noop\""), page);
  }

  @Test
  void histogramBucketsAreCumulativeAndEndInTheCount() {
    Metrics metrics = new Metrics();
    metrics.record(Route.COLD, "ok", 50_000); // 50 µs: in the first bucket, 100 µs
    metrics.record(Route.COLD, "ok", 300_000); // 300 µs: from the 500 µs bucket on
    metrics.record(Route.COLD, "ok", 7_000_000_000L); // 7 s: only +Inf
    String page = metrics.render(GAUGES);
    String bucket =
        "glint_demo_request_duration_seconds_bucket{route=\"/hyperlight/hello-world/cold\",le=\"%s\"}";
    assertEquals(1, value(page, bucket.formatted("0.0001")));
    assertEquals(1, value(page, bucket.formatted("0.00025")));
    assertEquals(2, value(page, bucket.formatted("0.0005")));
    assertEquals(2, value(page, bucket.formatted("5")));
    assertEquals(3, value(page, bucket.formatted("+Inf")));
    assertEquals(
        3,
        value(
            page,
            "glint_demo_request_duration_seconds_count{route=\"/hyperlight/hello-world/cold\"}"));
    Matcher sum =
        Pattern.compile(
                "glint_demo_request_duration_seconds_sum\\{route=\"/hyperlight/hello-world/cold\"} (\\S+)")
            .matcher(page);
    assertTrue(sum.find(), page);
    assertEquals(7.00035, Double.parseDouble(sum.group(1)), 1e-9);
  }

  @Test
  void gaugesReportThePoolsAndMicroVms() {
    String page = new Metrics().render(GAUGES);
    assertEquals(2, value(page, "glint_demo_pool_sandboxes{pool=\"hello\",state=\"idle\"}"));
    assertEquals(1, value(page, "glint_demo_pool_sandboxes{pool=\"hello\",state=\"in_use\"}"));
    assertEquals(5, value(page, "glint_demo_pool_created_total{pool=\"hello\"}"));
    assertEquals(1, value(page, "glint_demo_pool_replaced_total{pool=\"hello\"}"));
    assertEquals(40, value(page, "glint_demo_pool_acquired_total{pool=\"hello\"}"));
    assertEquals(3, value(page, "glint_demo_pool_exhausted_total{pool=\"hello\"}"));
    assertEquals(2, value(page, "glint_demo_cold_sandboxes"));
    assertEquals(5, value(page, "glint_demo_vms_alive"));
    assertEquals(1, value(page, "glint_demo_requests_in_flight"));
  }

  @Test
  void everyMetricHasHelpAndTypeAndEverySampleLineIsWellFormed() {
    Metrics metrics = new Metrics();
    metrics.record(Route.NOOP, "ok", 10_000);
    String page = metrics.render(GAUGES);
    Pattern sample =
        Pattern.compile(
            "[a-z_]+(\\{[a-z_]+=\"[^\"]*\"(,[a-z_]+=\"[^\"]*\")*})? -?[0-9.]+(e-?[0-9]+)?");
    for (String line : page.split("\n")) {
      if (line.startsWith("# HELP ") || line.startsWith("# TYPE ")) {
        continue;
      }
      assertTrue(sample.matcher(line).matches(), "malformed line: " + line);
      String name = line.split("[{ ]")[0].replaceAll("_(bucket|sum|count)$", "");
      assertTrue(page.contains("# TYPE " + name + " "), "no TYPE for " + name);
    }
  }

  @Test
  void jsonStringsAreEscaped() {
    assertEquals("\"a\\\"b\\\\c\\nd\\u0001\"", FaultReport.quote("a\"b\\c\nd\u0001"));
  }

  @Test
  void routesAreMatchedExactly() {
    assertEquals(Route.WARM, Route.of("/hyperlight/hello-world/warm"));
    assertEquals(Route.OTHER, Route.of("/hyperlight/hello-world/warm/"));
    assertEquals(Route.OTHER, Route.of("/"));
    assertEquals(6, Route.served().size());
  }

  private static long value(String page, String series) {
    Matcher m =
        Pattern.compile("^" + Pattern.quote(series) + " (\\S+)$", Pattern.MULTILINE).matcher(page);
    return m.find() ? (long) Double.parseDouble(m.group(1)) : -1;
  }
}
