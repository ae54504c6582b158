package dev.glint.demo.internal;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The HTTP side of the demo: a JDK {@link HttpServer} whose requests each run on a new virtual
 * thread, all answered by {@link Routes}.
 *
 * <p><b>Thread safety:</b> start and stop from one thread; requests are served concurrently.
 */
public final class DemoHttpServer {
  private static final System.Logger LOG = System.getLogger("dev.glint.demo");

  /** Connections the kernel may queue before the server accepts them. */
  private static final int BACKLOG = 512;

  private final HttpServer server;
  private final ExecutorService requests;
  private final Routes routes;

  private DemoHttpServer(HttpServer server, ExecutorService requests, Routes routes) {
    this.server = server;
    this.requests = requests;
    this.routes = routes;
  }

  /**
   * Binds {@code address} and starts serving the routes over {@code fleet}.
   *
   * @param address the address to listen on; port 0 for any free one
   * @param fleet the sandboxes the routes call
   * @return the running server
   * @throws IOException if the address cannot be bound (in use, not local, not allowed)
   */
  public static DemoHttpServer start(InetSocketAddress address, SandboxFleet fleet)
      throws IOException {
    HttpServer server = HttpServer.create(address, BACKLOG);
    ExecutorService requests =
        Executors.newThreadPerTaskExecutor(
            Thread.ofVirtual().name("glint-demo-request-", 0).factory());
    Routes routes = new Routes(fleet);
    server.createContext("/", routes);
    server.setExecutor(requests);
    server.start();
    return new DemoHttpServer(server, requests, routes);
  }

  /**
   * Checks that {@code address} can be bound now, by binding it and letting it go.
   *
   * <p>Why: the demo builds its sandboxes before it listens, and a server whose bind fails should
   * build none. Also, the JDK's {@code HttpServer.create(address, ..)} leaves its channel, selector
   * and a timer thread behind when the bind fails, and {@code stop()} on a server never started
   * cannot free them; checking first keeps that to a port taken in the instant between the two.
   *
   * @param address the address the server will listen on
   * @throws IOException if it cannot be bound (in use, not local, not allowed)
   */
  public static void checkBindable(InetSocketAddress address) throws IOException {
    try (ServerSocketChannel channel = ServerSocketChannel.open()) {
      channel.bind(address, 1);
    }
  }

  /** {@return the address the server listens on, with the port it was given} */
  public InetSocketAddress address() {
    return server.getAddress();
  }

  /** {@return the requests served so far} */
  public long served() {
    return routes.served();
  }

  /** {@return the requests being served now} */
  public int inFlight() {
    return routes.inFlight();
  }

  /**
   * {@return the banner lines listing the routes, for a server at {@code base}}
   *
   * @param base the server's base URL, without a trailing slash
   */
  public static List<String> routeLines(String base) {
    return Routes.banner(base);
  }

  /**
   * Stops accepting connections and waits up to {@code drain} for the requests being served to
   * finish; then closes every connection.
   *
   * @param drain the longest to wait for the requests being served
   * @return the requests still being served when the wait ended (cut off)
   */
  public int stop(Duration drain) {
    routes.stopping();
    // HttpServer.stop closes the listening socket at once, returns as soon as the exchanges in
    // progress are done, and waits at most the delay, in whole seconds.
    int seconds = (int) Math.min(Integer.MAX_VALUE, (drain.toMillis() + 999) / 1000);
    server.stop(seconds);
    int cutOff = routes.inFlight();
    requests.shutdown();
    if (cutOff > 0) {
      LOG.log(
          System.Logger.Level.WARNING,
          "{0} requests were still being served after {1}; stopping them",
          cutOff,
          drain);
    }
    return cutOff;
  }

  /**
   * Waits up to {@code bound} for the request threads to end (after {@link #stop}, and after the
   * sandboxes of requests cut off were closed), then interrupts those left.
   *
   * @param bound the longest to wait
   * @return whether every request thread ended
   */
  public boolean awaitRequests(Duration bound) {
    try {
      if (requests.awaitTermination(bound.toNanos(), TimeUnit.NANOSECONDS)) {
        return true;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    requests.shutdownNow();
    return false;
  }

  /** {@return the metrics, for tests in this package} */
  Metrics metrics() {
    return routes.metrics();
  }
}
