package dev.glint.demo.internal;

import dev.glint.sandbox.PoolStats;
import java.math.BigDecimal;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * The demo's metrics, rendered in the Prometheus text exposition format (version 0.0.4): requests
 * per route and outcome, a latency histogram per route, and gauges of the sandboxes.
 *
 * <p><b>Thread safety:</b> thread-safe; recording is lock-free ({@link LongAdder}s), so the metrics
 * do not serialize the requests they count.
 */
final class Metrics {
  /** The content type of {@link #render}. */
  static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  /**
   * Latency bucket bounds in seconds: from 100 µs (a warm call) to 5 s (the call timeout); the
   * histogram adds +Inf.
   */
  private static final double[] BUCKETS = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5
  };

  private final ConcurrentMap<Route, ConcurrentMap<String, LongAdder>> requests =
      new ConcurrentHashMap<>();
  private final Map<Route, Histogram> latency = new EnumMap<>(Route.class);

  Metrics() {
    for (Route route : Route.values()) {
      latency.put(route, new Histogram());
    }
  }

  /** Counts one request of {@code route} that ended with {@code outcome} after {@code nanos}. */
  void record(Route route, String outcome, long nanos) {
    requests
        .computeIfAbsent(route, r -> new ConcurrentHashMap<>())
        .computeIfAbsent(outcome, o -> new LongAdder())
        .increment();
    latency.get(route).record(nanos);
  }

  /** {@return the requests of {@code route} that ended with {@code outcome} so far} */
  long requests(Route route, String outcome) {
    Map<String, LongAdder> outcomes = requests.get(route);
    LongAdder count = outcomes == null ? null : outcomes.get(outcome);
    return count == null ? 0 : count.sum();
  }

  /** {@return every request counted so far} */
  long requests() {
    return requests.values().stream()
        .flatMap(m -> m.values().stream())
        .mapToLong(LongAdder::sum)
        .sum();
  }

  /**
   * What the metrics report beside the requests, read when they are rendered.
   *
   * @param pools each pool's counters
   * @param coldInFlight cold sandboxes alive now
   * @param vmsAlive every micro-VM alive now
   * @param requestsInFlight requests being served now
   */
  record Gauges(
      List<SandboxFleet.PoolGauge> pools, int coldInFlight, int vmsAlive, int requestsInFlight) {}

  /** {@return the metrics in the Prometheus text format} */
  String render(Gauges gauges) {
    StringBuilder out = new StringBuilder(4096);
    header(
        out, "glint_demo_requests_total", "counter", "HTTP requests served, by route and outcome.");
    for (Route route : Route.values()) {
      Map<String, LongAdder> outcomes = requests.get(route);
      if (outcomes == null) {
        continue;
      }
      // Sorted, so that the output is stable from one scrape to the next.
      for (Map.Entry<String, LongAdder> e : new TreeMap<>(outcomes).entrySet()) {
        out.append("glint_demo_requests_total{route=\"")
            .append(route.path())
            .append("\",outcome=\"")
            .append(e.getKey())
            .append("\"} ")
            .append(e.getValue().sum())
            .append('\n');
      }
    }
    header(
        out,
        "glint_demo_request_duration_seconds",
        "histogram",
        "Time from reading a request to sending its response, by route.");
    for (Route route : Route.values()) {
      latency.get(route).render(out, route.path());
    }
    header(
        out,
        "glint_demo_pool_sandboxes",
        "gauge",
        "Sandboxes a pool holds now, by state (idle: ready for a request; in_use: leased).");
    for (SandboxFleet.PoolGauge pool : gauges.pools()) {
      PoolStats s = pool.stats();
      gauge(out, "glint_demo_pool_sandboxes", pool.name(), "idle", s.idle());
      gauge(out, "glint_demo_pool_sandboxes", pool.name(), "in_use", s.inUse());
      gauge(out, "glint_demo_pool_sandboxes", pool.name(), "building", s.building());
    }
    poolCounter(out, gauges, "created", "Sandboxes a pool has built.", PoolStats::created);
    poolCounter(
        out,
        gauges,
        "replaced",
        "Sandboxes a pool closed and replaced because a call left the guest in an unknown state.",
        PoolStats::replaced);
    poolCounter(out, gauges, "acquired", "Leases a pool has handed out.", PoolStats::acquired);
    poolCounter(
        out,
        gauges,
        "exhausted",
        "Acquires that found no sandbox free in time (answered 503).",
        PoolStats::exhausted);
    header(out, "glint_demo_cold_sandboxes", "gauge", "Cold (one-request) sandboxes alive now.");
    out.append("glint_demo_cold_sandboxes ").append(gauges.coldInFlight()).append('\n');
    header(out, "glint_demo_vms_alive", "gauge", "Micro-VMs alive now: pooled and cold.");
    out.append("glint_demo_vms_alive ").append(gauges.vmsAlive()).append('\n');
    header(out, "glint_demo_requests_in_flight", "gauge", "Requests being served now.");
    out.append("glint_demo_requests_in_flight ").append(gauges.requestsInFlight()).append('\n');
    return out.toString();
  }

  private static void header(StringBuilder out, String name, String type, String help) {
    out.append("# HELP ").append(name).append(' ').append(help).append('\n');
    out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
  }

  private static void gauge(StringBuilder out, String name, String pool, String state, long value) {
    out.append(name)
        .append("{pool=\"")
        .append(pool)
        .append("\",state=\"")
        .append(state)
        .append("\"} ")
        .append(value)
        .append('\n');
  }

  private static void poolCounter(
      StringBuilder out,
      Gauges gauges,
      String what,
      String help,
      java.util.function.ToLongFunction<PoolStats> value) {
    String name = "glint_demo_pool_" + what + "_total";
    header(out, name, "counter", help);
    for (SandboxFleet.PoolGauge pool : gauges.pools()) {
      out.append(name)
          .append("{pool=\"")
          .append(pool.name())
          .append("\"} ")
          .append(value.applyAsLong(pool.stats()))
          .append('\n');
    }
  }

  /** A latency histogram with the fixed {@link #BUCKETS}. */
  private static final class Histogram {
    private final LongAdder[] buckets = new LongAdder[BUCKETS.length + 1];
    private final LongAdder sumNanos = new LongAdder();
    private final LongAdder count = new LongAdder();

    Histogram() {
      for (int i = 0; i < buckets.length; i++) {
        buckets[i] = new LongAdder();
      }
    }

    void record(long nanos) {
      double seconds = nanos / 1e9;
      int i = 0;
      while (i < BUCKETS.length && seconds > BUCKETS[i]) {
        i++;
      }
      buckets[i].increment(); // counts per bucket; render() makes them cumulative
      sumNanos.add(nanos);
      count.increment();
    }

    void render(StringBuilder out, String route) {
      long total = count.sum();
      if (total == 0) {
        return;
      }
      String name = "glint_demo_request_duration_seconds";
      long cumulative = 0;
      for (int i = 0; i <= BUCKETS.length; i++) {
        cumulative += buckets[i].sum();
        String le =
            i < BUCKETS.length
                ? BigDecimal.valueOf(BUCKETS[i]).stripTrailingZeros().toPlainString()
                : "+Inf";
        out.append(name)
            .append("_bucket{route=\"")
            .append(route)
            .append("\",le=\"")
            .append(le)
            .append("\"} ")
            .append(cumulative)
            .append('\n');
      }
      out.append(name)
          .append("_sum{route=\"")
          .append(route)
          .append("\"} ")
          .append(String.format(Locale.ROOT, "%.9f", sumNanos.sum() / 1e9))
          .append('\n');
      // The buckets and the count are read one after another while requests go on: report the
      // buckets' total as the count, so that the +Inf bucket always equals it.
      out.append(name).append("_count{route=\"").append(route).append("\"} ");
      out.append(cumulative).append('\n');
    }
  }
}
