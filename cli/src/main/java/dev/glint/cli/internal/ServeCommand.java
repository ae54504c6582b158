package dev.glint.cli.internal;

import dev.glint.demo.DemoServer;
import dev.glint.demo.ShutdownReport;
import dev.glint.hv.HypervisorException;
import dev.glint.hv.spi.HypervisorProvider;
import dev.glint.sandbox.SandboxException;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.BindException;
import java.net.URI;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code glint serve}: starts the demo server and serves until SIGTERM or Ctrl-C, then shuts down
 * gracefully (in a shutdown hook) and reports how.
 */
@Command(
    name = "serve",
    mixinStandardHelpOptions = true,
    description = {
      "Serves the hello-world FaaS demo over HTTP.",
      "",
      "Each request runs the hello guest in a micro-VM, cold"
          + " (a new one) or warm (from a pool); a faulting guest answers 500 and the server lives;"
          + " /metrics is Prometheus text.",
      "Stops on SIGTERM or Ctrl-C: no new connections, requests in flight finish (up to"
          + " --drain-timeout), every micro-VM is freed."
    },
    footer = {"", "Try it:  hey -n 1000 -c 5 http://localhost:8080/hyperlight/hello-world/warm"})
final class ServeCommand implements Callable<Integer> {
  private static final System.Logger LOG = System.getLogger("dev.glint.cli");

  @Spec CommandSpec spec;

  @Option(
      names = "--port",
      paramLabel = "PORT",
      description = "the port to listen on; 0 for any free one (default: ${DEFAULT-VALUE})")
  int port = 8080;

  @Option(
      names = "--host",
      paramLabel = "HOST",
      description =
          "the address to listen on (default: ${DEFAULT-VALUE}, this machine only; 0.0.0.0 for"
              + " every interface)")
  String host = "127.0.0.1";

  @Mixin SandboxOptions sandbox;

  @Option(
      names = "--pool-size",
      paramLabel = "N",
      description = "the most warm sandboxes (default: the number of processors)")
  Integer poolSize;

  @Option(
      names = "--drain-timeout",
      paramLabel = "DURATION",
      converter = DurationConverter.class,
      description = "how long a shutdown waits for requests in flight (default: 10s)")
  Duration drainTimeout = Duration.ofSeconds(10);

  /** Creates the command; picocli calls it. */
  ServeCommand() {}

  @Override
  public Integer call() throws InterruptedException {
    PrintWriter out = spec.commandLine().getOut();
    DemoServer.Builder builder = DemoServer.builder().host(host);
    try {
      builder.port(port).drainTimeout(drainTimeout);
      if (poolSize != null) {
        builder.warmPoolSize(poolSize);
      }
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
    }
    if (sandbox.level != null) {
      builder.privilegeLevel(sandbox.level);
    }
    // Chosen here, not left to the sandbox, so that "no hypervisor" is one clear message.
    HypervisorProvider provider = Backends.choose(sandbox.backend);
    Backends.fallbackNotice(provider)
        .ifPresent(notice -> LOG.log(System.Logger.Level.WARNING, notice));
    builder.backend(provider.name());
    DemoServer server = start(builder);
    // The JVM runs this on SIGTERM, SIGINT (Ctrl-C) and SIGHUP: the server drains and frees every
    // micro-VM before the process ends. Printed here rather than logged: logging may already be
    // shut down by its own hook.
    Thread hook =
        new Thread(
            () -> {
              out.println("glint serve: shutting down (no new connections; draining requests)");
              out.flush();
              ShutdownReport report = server.shutdown();
              out.println(summary(report));
              out.flush();
            },
            "glint-serve-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    banner(out, server);
    ShutdownReport report = server.awaitShutdown();
    return report.clean() ? 0 : 1;
  }

  private DemoServer start(DemoServer.Builder builder) {
    try {
      return builder.start();
    } catch (BindException e) {
      throw new CliFailure(
          1,
          "cannot listen on %s:%d: %s; choose another port with --port (0 for any free one)"
              .formatted(host, port, e.getMessage()),
          e);
    } catch (IOException e) {
      throw new CliFailure(
          1, "cannot listen on %s:%d: %s".formatted(host, port, e.getMessage()), e);
    } catch (HypervisorException e) {
      throw new CliFailure(
          1, "the hypervisor failed: %s%n%s".formatted(e.getMessage(), Backends.NO_EMULATOR), e);
    } catch (SandboxException e) {
      throw new CliFailure(1, "the demo's guests failed to start: " + e.getMessage(), e);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
    }
  }

  private static void banner(PrintWriter out, DemoServer server) {
    URI uri = server.uri();
    // The wildcard address is not one to browse to: show the loopback name for it.
    URI shown =
        server.address().getAddress().isAnyLocalAddress()
            ? URI.create("http://localhost:" + server.address().getPort())
            : uri;
    out.printf(
        "Glint demo listening on %s (backend %s, guest functions at CPL %d, warm pool of up to %d"
            + " hello sandboxes, %d micro-VMs alive)%n",
        uri,
        server.backend(),
        server.privilegeLevel().cpl(),
        server.warmPoolSize(),
        server.vmsAlive());
    DemoServer.routeLines(shown).forEach(out::println);
    out.printf(
        "Load it:  hey -n 1000 -c 5 %s/hyperlight/hello-world/warm%nStop it with Ctrl-C or SIGTERM.%n",
        shown);
    out.flush();
  }

  private static String summary(ShutdownReport report) {
    return String.format(
        Locale.ROOT,
        "glint serve: shut down in %d ms: %d requests served, %d cut off, %d micro-VMs alive%s",
        report.took().toMillis(),
        report.requestsServed(),
        report.requestsCutOff(),
        report.vmsAlive(),
        report.vmsAlive() == 0 ? " (every micro-VM freed)" : "");
  }
}
