/**
 * Glint's demo server: the well-known hello-world FaaS demo over the public sandbox API. Start it
 * with {@link dev.glint.demo.DemoServer#builder()}, or from the command line with {@code glint
 * serve}. A hypervisor backend module (such as {@code dev.glint.hv.kvm}) must be on the module
 * path.
 */
module dev.glint.demo {
  requires transitive dev.glint.sandbox;
  requires dev.glint.guest;
  requires jdk.httpserver;
  requires jdk.jfr;

  exports dev.glint.demo;
}
