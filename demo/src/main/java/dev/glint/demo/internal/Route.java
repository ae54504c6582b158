package dev.glint.demo.internal;

import java.util.Arrays;
import java.util.List;

/** The demo's routes, each with the path it answers; {@link #OTHER} stands for every other path. */
public enum Route {
  /** A new sandbox per request: build, call, close. */
  COLD(
      "/hyperlight/hello-world/cold",
      "a new micro-VM per request, started from a snapshot of an initialized one: build, PrintOutput, close"),
  /** A pooled, pre-initialized sandbox, restored after each request. */
  WARM("/hyperlight/hello-world/warm", "a warm micro-VM from the pool, restored after the call"),
  /** The micro-VMs alive now. */
  VM_COUNT("/hyperlight/hello-world/vm-count", "the micro-VMs alive now"),
  /** A guest that dereferences a null pointer: 500 with the fault report, and the server lives. */
  DEREF_NULL(
      "/hyperlight/hello-world/safety/deref-raw-null-ptr",
      "a guest reads address 0: 500 with the fault report, the server keeps serving"),
  /** No sandbox at all: the HTTP floor. */
  NOOP("/noop", "no micro-VM: the HTTP floor"),
  /** Prometheus metrics. */
  METRICS("/metrics", "Prometheus metrics"),
  /** Any path the demo does not serve. */
  OTHER("other", "");

  private final String path;
  private final String description;

  Route(String path, String description) {
    this.path = path;
    this.description = description;
  }

  /** {@return the path, such as "/noop"; "other" for {@link #OTHER}} */
  public String path() {
    return path;
  }

  /** {@return what the route does, in a few words} */
  public String description() {
    return description;
  }

  /** {@return every route the demo serves, in the order the banner lists them} */
  public static List<Route> served() {
    return Arrays.stream(values()).filter(r -> r != OTHER).toList();
  }

  /** {@return the route answering {@code path}, or {@link #OTHER}} */
  static Route of(String path) {
    for (Route route : values()) {
      if (route.path.equals(path)) {
        return route;
      }
    }
    return OTHER;
  }
}
