package dev.glint.cli.internal;

import dev.glint.sandbox.PrivilegeLevel;
import picocli.CommandLine.Option;

/** The options every command that builds sandboxes shares: the backend and privilege level. */
final class SandboxOptions {
  @Option(
      names = "--backend",
      paramLabel = "NAME",
      description =
          "the hypervisor backend, such as kvm (default: the best available; see 'glint backends')")
  String backend;

  @Option(
      names = "--level",
      paramLabel = "LEVEL",
      description =
          "the privilege level of the guest's functions: user or kernel (default: the"
              + " backend's; user where privileged code is emulated, as on PVM)")
  PrivilegeLevel level;

  /** Creates the options; picocli fills them. */
  SandboxOptions() {}
}
