package dev.glint.demo.internal;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import dev.glint.hv.HypervisorException;
import dev.glint.sandbox.GuestFaultException;
import dev.glint.sandbox.PoolExhaustedException;
import dev.glint.sandbox.SandboxException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

/**
 * The demo's one HTTP handler: dispatches on the exact path (see {@link Route}), maps every outcome
 * to a status, and counts each request in the {@link Metrics}.
 *
 * <p>Each request runs on its own virtual thread. A guest call pins that thread's carrier while the
 * guest runs (see {@code Sandbox}); waiting for a pooled sandbox does not.
 */
final class Routes implements HttpHandler {
  private static final System.Logger LOG = System.getLogger("dev.glint.demo");

  private static final String TEXT = "text/plain; charset=utf-8";
  private static final String JSON = "application/json";

  /** What the hello-world routes ask the guest to print unless the request says otherwise. */
  static final String DEFAULT_MESSAGE = "Hello, World!";

  /** The longest {@code message} query parameter accepted, in characters. */
  static final int MAX_MESSAGE = 1024;

  private final SandboxFleet fleet;
  private final Metrics metrics = new Metrics();
  private final AtomicInteger inFlight = new AtomicInteger();
  private volatile boolean stopping;

  Routes(SandboxFleet fleet) {
    this.fleet = fleet;
  }

  /** {@return the requests being served now} */
  int inFlight() {
    return inFlight.get();
  }

  /** {@return the requests served so far, whatever their outcome} */
  long served() {
    return metrics.requests();
  }

  /** {@return the metrics, for tests} */
  Metrics metrics() {
    return metrics;
  }

  /**
   * From now on, requests that still arrive on open connections are answered 503 and the connection
   * is closed; requests already being served finish.
   */
  void stopping() {
    stopping = true;
  }

  @Override
  public void handle(HttpExchange exchange) {
    long start = System.nanoTime();
    RequestEvent event = new RequestEvent();
    event.begin();
    inFlight.incrementAndGet();
    Route route = Route.of(exchange.getRequestURI().getPath());
    String outcome = "error";
    try {
      Response response = respond(route, exchange);
      outcome = response.outcome();
      event.status = response.status();
      send(exchange, response);
    } catch (IOException e) {
      // The client went away, or shutdown closed the connection: nothing to answer.
      outcome = "client_gone";
      LOG.log(System.Logger.Level.DEBUG, "sending the response failed: {0}", e.toString());
    } finally {
      exchange.close();
      metrics.record(route, outcome, System.nanoTime() - start);
      event.route = route.path();
      event.outcome = outcome;
      event.commit();
      // Last: once no request is in flight, every one is counted and recorded.
      inFlight.decrementAndGet();
    }
  }

  private Response respond(Route route, HttpExchange exchange) {
    if (stopping) {
      return Response.text(503, "the server is shutting down\n", "shutting_down").closing();
    }
    if (!exchange.getRequestMethod().equals("GET")) {
      return Response.text(405, "only GET is served\n", "method_not_allowed").with("Allow", "GET");
    }
    try {
      return switch (route) {
        case COLD -> hello(fleet.helloCold(message(exchange)));
        case WARM -> hello(fleet.helloWarm(message(exchange)));
        case VM_COUNT -> Response.text(200, fleet.vmsAlive() + "\n", "ok");
        case DEREF_NULL -> derefNullPointer();
        case NOOP -> Response.text(200, "noop\n", "ok");
        case METRICS -> metricsPage();
        case OTHER -> notFound();
      };
    } catch (BadRequest e) {
      return Response.text(400, e.getMessage() + "\n", "bad_request");
    } catch (PoolExhaustedException | FleetBusyException e) {
      return Response.text(503, e.getMessage() + "\n", "busy").with("Retry-After", "1");
    } catch (GuestFaultException e) {
      return new Response(
          500, JSON, FaultReport.json(SandboxFleet.PRINT_OUTPUT, e), "guest_fault", Map.of());
    } catch (SandboxException e) {
      return Response.text(500, "the guest failed: " + e.getMessage() + "\n", "guest_error");
    } catch (HypervisorException e) {
      LOG.log(System.Logger.Level.WARNING, "the hypervisor failed", e);
      return Response.text(500, "the hypervisor failed: " + e.getMessage() + "\n", "error");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Response.text(503, "the server is shutting down\n", "shutting_down").closing();
    } catch (IllegalStateException e) {
      // A pool or the fleet closed under the request: shutdown cut it off.
      return Response.text(503, "the server is shutting down\n", "shutting_down").closing();
    }
  }

  private Response hello(Greeting greeting) {
    return Response.text(200, greeting.printed() + "\n", "ok")
        .with("X-Glint-Backend", fleet.backend())
        .with("X-Glint-Result", Integer.toString(greeting.returned()));
  }

  private Response derefNullPointer() throws InterruptedException {
    try {
      int result = fleet.derefNullPointer();
      // The read of address 0 always faults; were it ever to return, say so rather than pretend.
      return Response.text(
          500, "NullDeref returned " + result + " instead of faulting\n", "no_fault");
    } catch (GuestFaultException e) {
      return new Response(
          500, JSON, FaultReport.json(SandboxFleet.NULL_DEREF, e), "guest_fault", Map.of());
    }
  }

  private Response metricsPage() {
    Metrics.Gauges gauges =
        new Metrics.Gauges(fleet.pools(), fleet.coldInFlight(), fleet.vmsAlive(), inFlight.get());
    return new Response(200, Metrics.CONTENT_TYPE, metrics.render(gauges), "ok", Map.of());
  }

  private static Response notFound() {
    String routes =
        Route.served().stream()
            .map(r -> "  GET " + r.path() + "  " + r.description())
            .collect(Collectors.joining("\n"));
    return Response.text(404, "no such route; the demo serves:\n" + routes + "\n", "not_found");
  }

  /**
   * {@return the {@code message} query parameter, or {@link #DEFAULT_MESSAGE}}
   *
   * @throws BadRequest if it is longer than {@link #MAX_MESSAGE}
   */
  private static String message(HttpExchange exchange) {
    String query = exchange.getRequestURI().getRawQuery();
    if (query == null) {
      return DEFAULT_MESSAGE;
    }
    for (String pair : query.split("&")) {
      int eq = pair.indexOf('=');
      String name = eq < 0 ? pair : pair.substring(0, eq);
      if (name.equals("message")) {
        String value =
            URLDecoder.decode(eq < 0 ? "" : pair.substring(eq + 1), StandardCharsets.UTF_8);
        if (value.length() > MAX_MESSAGE) {
          throw new BadRequest(
              "the message is %d characters long; at most %d are accepted"
                  .formatted(value.length(), MAX_MESSAGE));
        }
        return value;
      }
    }
    return DEFAULT_MESSAGE;
  }

  private static void send(HttpExchange exchange, Response response) throws IOException {
    byte[] body = response.body().getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", response.contentType());
    response.headers().forEach((name, value) -> exchange.getResponseHeaders().set(name, value));
    exchange.sendResponseHeaders(response.status(), body.length == 0 ? -1 : body.length);
    if (body.length > 0) {
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    }
  }

  /** A request the demo refuses as malformed: 400. */
  private static final class BadRequest extends RuntimeException {
    private static final long serialVersionUID = 1L;

    BadRequest(String message) {
      super(message);
    }
  }

  /**
   * One response, before it is sent.
   *
   * @param status the HTTP status
   * @param contentType its content type
   * @param body the body text (UTF-8 on the wire)
   * @param outcome the metrics' label for how the request ended
   * @param headers further headers
   */
  record Response(
      int status, String contentType, String body, String outcome, Map<String, String> headers) {

    static Response text(int status, String body, String outcome) {
      return new Response(status, TEXT, body, outcome, Map.of());
    }

    Response with(String name, String value) {
      Map<String, String> more = new java.util.LinkedHashMap<>(headers);
      more.put(name, value);
      return new Response(status, contentType, body, outcome, Map.copyOf(more));
    }

    /** {@return this response, asking the client to close the connection after it} */
    Response closing() {
      return with("Connection", "close");
    }
  }

  /** {@return the banner lines listing the routes, for a server at {@code base}} */
  static List<String> banner(String base) {
    return Route.served().stream()
        .map(r -> "  GET %s%s  (%s)".formatted(base, r.path(), r.description()))
        .toList();
  }
}
