package dev.glint.demo;

import dev.glint.demo.internal.DemoHttpServer;
import dev.glint.demo.internal.Route;
import dev.glint.demo.internal.SandboxFleet;
import dev.glint.sandbox.PrivilegeLevel;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;

/**
 * The hello-world FaaS demo: an HTTP server whose routes run the {@code hello} sample guest in
 * micro-VMs, cold (a new one per request) and warm (from a {@link dev.glint.sandbox.SandboxPool}),
 * show that a faulting guest leaves the server up, and report Prometheus metrics.
 *
 * {@snippet :
 * try (DemoServer server = DemoServer.builder().port(8080).start()) {
 *   // GET http://127.0.0.1:8080/hyperlight/hello-world/warm -> "Hello, World!"
 *   server.awaitShutdown();
 * }
 * }
 *
 * <table class="striped">
 *   <caption>Routes (GET)</caption>
 *   <thead><tr><th>path</th><th>answer</th></tr></thead>
 *   <tbody>
 *     <tr><td>{@code /hyperlight/hello-world/cold}</td><td>200, what the guest printed: a new
 *         sandbox is built from the {@code hello} ELF, {@code PrintOutput} is called (it calls
 *         the host's {@code HostPrint}), and the sandbox is closed</td></tr>
 *     <tr><td>{@code /hyperlight/hello-world/warm}</td><td>200, the same from a pooled sandbox,
 *         restored after the call</td></tr>
 *     <tr><td>{@code /hyperlight/hello-world/vm-count}</td><td>200, the micro-VMs alive now</td></tr>
 *     <tr><td>{@code /hyperlight/hello-world/safety/deref-raw-null-ptr}</td><td>500, the fault
 *         report (vector, address, RIP) as JSON; the faulted sandbox is replaced</td></tr>
 *     <tr><td>{@code /noop}</td><td>200, no sandbox: the HTTP floor</td></tr>
 *     <tr><td>{@code /metrics}</td><td>Prometheus text: requests per route and outcome, latency
 *         histograms, pool state, micro-VMs alive</td></tr>
 *   </tbody>
 * </table>
 *
 * <p>The hello-world routes take an optional {@code message} query parameter (at most 1,024
 * characters), the text the guest prints; by default {@code Hello, World!}. A busy pool answers 503
 * with {@code Retry-After}.
 *
 * <p><b>Ownership:</b> the caller of {@link Builder#start()} owns the server and must close it;
 * {@link #close()} stops accepting, lets the requests in flight finish (up to the drain timeout),
 * then frees every micro-VM. Idempotent and thread-safe; a shutdown hook may call it.
 */
public final class DemoServer implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger("dev.glint.demo");

  /** Micro-VMs of requests cut off get this long to end after their sandboxes are closed. */
  private static final Duration CUT_OFF_GRACE = Duration.ofSeconds(2);

  private final SandboxFleet fleet;
  private final DemoHttpServer http;
  private final Duration drainTimeout;
  private final CountDownLatch stopped = new CountDownLatch(1);
  private final Object closeLock = new Object();
  private ShutdownReport report; // guarded by closeLock

  private DemoServer(SandboxFleet fleet, DemoHttpServer http, Duration drainTimeout) {
    this.fleet = fleet;
    this.http = http;
    this.drainTimeout = drainTimeout;
  }

  /** {@return a new builder; see {@link Builder} for the defaults} */
  public static Builder builder() {
    return new Builder();
  }

  /** {@return the paths the demo serves, such as {@code /noop}} */
  public static List<String> routes() {
    return Route.served().stream().map(Route::path).toList();
  }

  /** {@return the address the server listens on, with its port (the one given, if port 0 was)} */
  public InetSocketAddress address() {
    return http.address();
  }

  /** {@return the server's base URI, such as {@code http://127.0.0.1:8080}} */
  public URI uri() {
    InetSocketAddress address = address();
    String host = address.getAddress().getHostAddress();
    if (host.contains(":")) {
      host = "[" + host + "]";
    }
    return URI.create("http://" + host + ":" + address.getPort());
  }

  /**
   * {@return one line per route, with its full URL and what it does} For a start-up banner.
   *
   * @param base the base URI to show, such as {@code http://localhost:8080}
   */
  public static List<String> routeLines(URI base) {
    String text = base.toString();
    return DemoHttpServer.routeLines(
        text.endsWith("/") ? text.substring(0, text.length() - 1) : text);
  }

  /** {@return the hypervisor backend the micro-VMs run on, such as "kvm"} */
  public String backend() {
    return fleet.backend();
  }

  /** {@return the privilege level the guests' functions run at} */
  public PrivilegeLevel privilegeLevel() {
    return fleet.privilegeLevel();
  }

  /** {@return the most warm sandboxes the pool holds} */
  public int warmPoolSize() {
    return fleet.settings().warmMaxSize();
  }

  /** {@return the micro-VMs alive now: pooled and cold} */
  public int vmsAlive() {
    return fleet.vmsAlive();
  }

  /** {@return the requests being served now} */
  public int requestsInFlight() {
    return http.inFlight();
  }

  /**
   * Waits until the server has shut down (another thread, such as a shutdown hook, called {@link
   * #close()}), and returns how.
   *
   * @return the shutdown's report
   * @throws InterruptedException if interrupted while waiting
   */
  public ShutdownReport awaitShutdown() throws InterruptedException {
    stopped.await();
    synchronized (closeLock) {
      return report;
    }
  }

  /**
   * Shuts the server down gracefully: stops accepting connections, answers requests arriving on
   * open connections with 503, waits up to the drain timeout for the requests being served, then
   * closes the pools and every sandbox (stopping the calls of requests cut off). Idempotent: later
   * calls wait for the first and return its report.
   *
   * @return how it went
   */
  public ShutdownReport shutdown() {
    synchronized (closeLock) {
      if (report != null) {
        return report;
      }
      long start = System.nanoTime();
      LOG.log(
          System.Logger.Level.INFO,
          "shutting down: no new connections; waiting up to {0} for {1} requests in flight",
          drainTimeout,
          http.inFlight());
      int cutOff = http.stop(drainTimeout);
      // Requests still running hold sandboxes: closing the fleet stops their calls.
      fleet.close(Duration.ZERO);
      http.awaitRequests(CUT_OFF_GRACE);
      report =
          new ShutdownReport(
              Duration.ofNanos(System.nanoTime() - start), http.served(), cutOff, fleet.vmsAlive());
      LOG.log(System.Logger.Level.INFO, "shut down: {0}", report);
      stopped.countDown();
      return report;
    }
  }

  /** Shuts the server down as {@link #shutdown()} does. */
  @Override
  public void close() {
    shutdown();
  }

  @Override
  public String toString() {
    return "DemoServer[%s, backend %s, %s]".formatted(uri(), backend(), privilegeLevel());
  }

  /**
   * Configures and starts a {@link DemoServer}. Every setter checks its argument at once and throws
   * {@link IllegalArgumentException} naming the value and the allowed range.
   *
   * <table class="striped">
   *   <caption>Settings and defaults</caption>
   *   <thead><tr><th>setting</th><th>default</th><th>range</th></tr></thead>
   *   <tbody>
   *     <tr><td>{@link #host}</td><td>the loopback address</td><td>a local name or address;
   *         {@code 0.0.0.0} for every interface</td></tr>
   *     <tr><td>{@link #port}</td><td>8080</td><td>0 (any free port) .. 65535</td></tr>
   *     <tr><td>{@link #backend}</td><td>the {@code glint.backend} property, else the best
   *         available</td><td></td></tr>
   *     <tr><td>{@link #privilegeLevel}</td><td>the backend's default</td><td></td></tr>
   *     <tr><td>{@link #warmPoolSize}</td><td>the number of processors</td><td>1 .. 4096</td></tr>
   *     <tr><td>{@link #warmPoolMinIdle}</td><td>2, at most the pool size</td>
   *         <td>0 .. pool size</td></tr>
   *     <tr><td>{@link #maxColdInFlight}</td><td>4 per processor</td><td>1 .. 4096</td></tr>
   *     <tr><td>{@link #callTimeout}</td><td>5 s</td><td>1 ms .. 1 day</td></tr>
   *     <tr><td>{@link #acquireTimeout}</td><td>5 s</td><td>0 .. 1 day</td></tr>
   *     <tr><td>{@link #drainTimeout}</td><td>10 s</td><td>0 .. 1 day</td></tr>
   *   </tbody>
   * </table>
   *
   * <p>Not thread-safe.
   */
  public static final class Builder {
    private static final Duration DAY = Duration.ofDays(1);

    private String host;
    private int port = 8080;
    private String backend;
    private PrivilegeLevel privilegeLevel;
    private int warmPoolSize = Runtime.getRuntime().availableProcessors();
    private Integer warmPoolMinIdle;
    private int maxColdInFlight = 4 * Runtime.getRuntime().availableProcessors();
    private Duration callTimeout = Duration.ofSeconds(5);
    private Duration acquireTimeout = Duration.ofSeconds(5);
    private Duration drainTimeout = Duration.ofSeconds(10);

    private Builder() {}

    /**
     * Sets the address to listen on, by name or literal.
     *
     * @param host such as {@code localhost}, {@code 127.0.0.1} or {@code 0.0.0.0}
     * @return this builder
     */
    public Builder host(String host) {
      this.host = Objects.requireNonNull(host, "host");
      return this;
    }

    /**
     * Sets the port to listen on.
     *
     * @param port 0 (any free port; see {@link DemoServer#address()}) to 65535
     * @return this builder
     * @throws IllegalArgumentException if out of range
     */
    public Builder port(int port) {
      this.port = check("port", port, 0, 65535);
      return this;
    }

    /**
     * Chooses the hypervisor backend by name, such as "kvm".
     *
     * @param name the backend's name
     * @return this builder
     */
    public Builder backend(String name) {
      this.backend = Objects.requireNonNull(name, "name");
      return this;
    }

    /**
     * Chooses the privilege level of the guests' functions instead of the backend's default.
     *
     * @param level the privilege level
     * @return this builder
     */
    public Builder privilegeLevel(PrivilegeLevel level) {
      this.privilegeLevel = Objects.requireNonNull(level, "level");
      return this;
    }

    /**
     * Sets the most warm {@code hello} sandboxes, idle and in use: the most warm requests served at
     * once.
     *
     * @param size 1 to 4096
     * @return this builder
     * @throws IllegalArgumentException if out of range
     */
    public Builder warmPoolSize(int size) {
      this.warmPoolSize = check("warm pool size", size, 1, 4096);
      return this;
    }

    /**
     * Sets how many warm sandboxes are kept idle and ready.
     *
     * @param count 0 to the warm pool size (checked by {@link #start()})
     * @return this builder
     * @throws IllegalArgumentException if negative or above 4096
     */
    public Builder warmPoolMinIdle(int count) {
      this.warmPoolMinIdle = check("warm pool min idle", count, 0, 4096);
      return this;
    }

    /**
     * Sets the most cold sandboxes alive at once; more cold requests wait, then get 503.
     *
     * @param count 1 to 4096
     * @return this builder
     * @throws IllegalArgumentException if out of range
     */
    public Builder maxColdInFlight(int count) {
      this.maxColdInFlight = check("max cold sandboxes in flight", count, 1, 4096);
      return this;
    }

    /**
     * Limits how long one guest call may run.
     *
     * @param timeout 1 ms to 1 day
     * @return this builder
     * @throws IllegalArgumentException if out of range
     */
    public Builder callTimeout(Duration timeout) {
      this.callTimeout = check("call timeout", timeout, Duration.ofMillis(1));
      return this;
    }

    /**
     * Sets how long a request waits for a sandbox before it is answered 503.
     *
     * @param timeout 0 to 1 day
     * @return this builder
     * @throws IllegalArgumentException if out of range
     */
    public Builder acquireTimeout(Duration timeout) {
      this.acquireTimeout = check("acquire timeout", timeout, Duration.ZERO);
      return this;
    }

    /**
     * Sets how long a shutdown waits for the requests being served before it stops them.
     *
     * @param timeout 0 to 1 day
     * @return this builder
     * @throws IllegalArgumentException if out of range
     */
    public Builder drainTimeout(Duration timeout) {
      this.drainTimeout = check("drain timeout", timeout, Duration.ZERO);
      return this;
    }

    /**
     * Builds the sandboxes (one cold {@code hello} sandbox to check the backend, then the pools)
     * and starts serving.
     *
     * @return the running server; the caller owns it and must close it
     * @throws IOException if the address cannot be bound (the port is in use, say)
     * @throws IllegalArgumentException if the warm pool's min idle exceeds its size
     * @throws dev.glint.hv.HypervisorException if no backend is available, or it fails
     * @throws dev.glint.sandbox.SandboxException if a guest fails to initialize
     */
    public DemoServer start() throws IOException {
      int minIdle = warmPoolMinIdle != null ? warmPoolMinIdle : Math.min(2, warmPoolSize);
      SandboxFleet.Settings settings =
          new SandboxFleet.Settings(
              backend,
              privilegeLevel,
              minIdle,
              warmPoolSize,
              maxColdInFlight,
              callTimeout,
              acquireTimeout);
      InetSocketAddress address =
          host == null
              ? new InetSocketAddress(InetAddress.getLoopbackAddress(), port)
              : new InetSocketAddress(host, port);
      if (address.isUnresolved()) {
        throw new IOException("cannot resolve the host name '%s'".formatted(host));
      }
      DemoHttpServer.checkBindable(address);
      SandboxFleet fleet = SandboxFleet.start(settings);
      DemoHttpServer http;
      try {
        http = DemoHttpServer.start(address, fleet);
      } catch (IOException | RuntimeException e) {
        fleet.close();
        throw e;
      }
      DemoServer server = new DemoServer(fleet, http, drainTimeout);
      LOG.log(System.Logger.Level.INFO, "started: {0}", server);
      return server;
    }

    private static int check(String what, int value, int min, int max) {
      if (value < min || value > max) {
        throw new IllegalArgumentException(
            "%s %d is outside the allowed range: %d to %d".formatted(what, value, min, max));
      }
      return value;
    }

    private static Duration check(String what, Duration value, Duration min) {
      Objects.requireNonNull(value, what);
      if (value.compareTo(min) < 0 || value.compareTo(DAY) > 0) {
        throw new IllegalArgumentException(
            "%s %s is outside the allowed range: %s to %s".formatted(what, value, min, DAY));
      }
      return value;
    }
  }
}
