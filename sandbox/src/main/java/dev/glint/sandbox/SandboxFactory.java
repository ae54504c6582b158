package dev.glint.sandbox;

import dev.glint.hv.Capability;
import dev.glint.hv.Hypervisor;
import dev.glint.hv.MemoryImage;
import dev.glint.hv.MissingCapabilityException;
import dev.glint.hv.PrivilegedExecution;
import dev.glint.hv.VcpuInterrupter;
import dev.glint.hv.spi.HypervisorProvider;
import dev.glint.hv.spi.Hypervisors;
import dev.glint.sandbox.internal.events.SandboxCreatedEvent;
import dev.glint.sandbox.internal.image.ElfLoader;
import dev.glint.sandbox.internal.image.GuestImage;
import dev.glint.sandbox.internal.image.ImageFormatException;
import dev.glint.sandbox.internal.layout.MemoryPlan;
import dev.glint.sandbox.internal.vm.CallTimer;
import dev.glint.sandbox.internal.vm.ExitLoop;
import dev.glint.sandbox.internal.vm.GuestVm;
import dev.glint.sandbox.internal.vm.HostFunctionTable;
import dev.glint.sandbox.internal.vm.Stop;
import dev.glint.sandbox.internal.wire.FunctionSignature;
import dev.glint.sandbox.internal.wire.WireCodec;
import dev.glint.sandbox.internal.wire.WireFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.ScheduledFuture;

/** Builds a {@link Sandbox} from a frozen configuration: the steps of {@code build()}. */
final class SandboxFactory {
  private SandboxFactory() {}

  private static final System.Logger LOG = System.getLogger("dev.glint.sandbox");

  /** The logger the guest's log records go to. */
  static final String GUEST_LOGGER = "dev.glint.sandbox.guest";

  static Sandbox build(SandboxConfig config) {
    if (config.snapshot() != null) {
      return fromSnapshot(config);
    }
    SandboxCreatedEvent event = new SandboxCreatedEvent();
    event.begin();
    // Check everything that needs no hypervisor first, so a bad image costs no VM.
    GuestImage image = loadImage(config);
    MemoryPlan plan = MemoryPlan.of(config.sizes(), image.end());
    HostFunctionTable hostFunctions = new HostFunctionTable(config.hostFunctions());
    HypervisorProvider provider = provider(config.backend());
    Hypervisor hypervisor = provider.open();
    boolean success = false;
    try {
      if (plan.memorySize() > hypervisor.maxMemoryBytes()) {
        throw new IllegalArgumentException(
            "memory size %d exceeds backend '%s''s maximum of %d bytes"
                .formatted(plan.memorySize(), hypervisor.name(), hypervisor.maxMemoryBytes()));
      }
      PrivilegeLevel level = privilegeLevel(config, hypervisor);
      if (config.callTimeout() != null && !hypervisor.has(Capability.CANCEL)) {
        throw new MissingCapabilityException(
            hypervisor.name(), Capability.CANCEL, "a call timeout (stopping a running guest)");
      }
      GuestVm vm = GuestVm.create(hypervisor, image, plan, level.cpl(), "glint sandbox");
      try {
        ExitLoop loop = new ExitLoop(vm, hostFunctions, System.getLogger(GUEST_LOGGER));
        List<FunctionSignature> table = initialize(vm, loop, config.callTimeout());
        Sandbox sandbox =
            new Sandbox(
                provider,
                hypervisor,
                vm,
                loop,
                level,
                table,
                config.callTimeout(),
                config.restoreAfterEachCall());
        if (config.restoreAfterEachCall()) {
          Snapshot pristine = sandbox.capture();
          sandbox.startingPoint(pristine, pristine, true);
        }
        event.backend = hypervisor.name();
        event.privilegeLevel = level.name();
        event.memorySize = plan.memorySize();
        event.functionCount = table.size();
        event.commit();
        LOG.log(
            System.Logger.Level.DEBUG,
            () ->
                "sandbox built on %s at %s, %d MiB, functions %s"
                    .formatted(
                        hypervisor.name(), level, plan.memorySize() >> 20, sandbox.functions()));
        success = true;
        return sandbox;
      } finally {
        if (!success) {
          vm.close();
        }
      }
    } finally {
      if (!success) {
        hypervisor.close();
      }
    }
  }

  /** Starts a sandbox from the configuration's snapshot, without running guest code. */
  private static Sandbox fromSnapshot(SandboxConfig config) {
    SandboxCreatedEvent event = new SandboxCreatedEvent();
    event.begin();
    Snapshot snapshot = config.snapshot();
    MemoryImage image = snapshot.image(); // checks it is open
    HostFunctionTable hostFunctions = new HostFunctionTable(config.hostFunctions());
    HypervisorProvider provider = provider(snapshot.backend());
    Hypervisor hypervisor = provider.open();
    boolean success = false;
    try {
      if (config.callTimeout() != null && !hypervisor.has(Capability.CANCEL)) {
        throw new MissingCapabilityException(
            hypervisor.name(), Capability.CANCEL, "a call timeout (stopping a running guest)");
      }
      PrivilegeLevel level = snapshot.privilegeLevel();
      GuestVm vm =
          GuestVm.fromImage(
              hypervisor,
              image,
              snapshot.plan(),
              level.cpl(),
              snapshot.registers(),
              snapshot.specialRegisters(),
              hypervisor.has(Capability.FPU_STATE) ? snapshot.fpu() : null,
              "glint sandbox");
      try {
        ExitLoop loop = new ExitLoop(vm, hostFunctions, System.getLogger(GUEST_LOGGER));
        Sandbox sandbox =
            new Sandbox(
                provider,
                hypervisor,
                vm,
                loop,
                level,
                snapshot.table(),
                config.callTimeout(),
                config.restoreAfterEachCall());
        sandbox.startingPoint(snapshot, config.restoreAfterEachCall() ? snapshot : null, false);
        event.backend = hypervisor.name();
        event.privilegeLevel = level.name();
        event.memorySize = snapshot.memorySize();
        event.functionCount = snapshot.table().size();
        event.commit();
        success = true;
        return sandbox;
      } finally {
        if (!success) {
          vm.close();
        }
      }
    } finally {
      if (!success) {
        hypervisor.close();
      }
    }
  }

  /**
   * Providers found so far, by requested name ("" for automatic selection under the current value
   * of {@code glint.backend}). A lookup loads every provider with ServiceLoader and probes them
   * (about 0.3 ms here, a sixth of a build); a provider that was found available stays the answer.
   * Failed lookups are not kept, so a backend that becomes available is found later.
   */
  private static final ConcurrentMap<String, HypervisorProvider> PROVIDERS =
      new ConcurrentHashMap<>();

  private static HypervisorProvider provider(String backend) {
    String key =
        backend != null
            ? "name:" + backend
            : "auto:" + System.getProperty(Hypervisors.BACKEND_PROPERTY, "").strip();
    HypervisorProvider cached = PROVIDERS.get(key);
    if (cached != null) {
      return cached;
    }
    HypervisorProvider found =
        backend != null ? Hypervisors.require(backend) : Hypervisors.select();
    PROVIDERS.putIfAbsent(key, found);
    return found;
  }

  private static GuestImage loadImage(SandboxConfig config) {
    byte[] bytes = config.guestBytes();
    if (bytes == null) {
      try {
        long size = Files.size(config.guestFile());
        if (size > ElfLoader.MAX_FILE_SIZE) {
          throw new GuestImageException(
              "%s: rule 7: the file is %d bytes; a guest image is at most %d bytes (64 MiB)"
                  .formatted(config.guestFile(), size, ElfLoader.MAX_FILE_SIZE),
              null);
        }
        bytes = Files.readAllBytes(config.guestFile());
      } catch (IOException e) {
        throw new GuestImageException(
            "cannot read the guest image %s: %s".formatted(config.guestFile(), e), e);
      }
    }
    try {
      return new ElfLoader().load(bytes);
    } catch (ImageFormatException e) {
      String source = config.guestFile() != null ? config.guestFile() + ": " : "";
      throw new GuestImageException("invalid guest image: " + source + e.getMessage(), e);
    }
  }

  private static PrivilegeLevel privilegeLevel(SandboxConfig config, Hypervisor hypervisor) {
    PrivilegeLevel level = config.privilegeLevel();
    if (level == null) {
      level =
          hypervisor.privilegedExecution() == PrivilegedExecution.NATIVE
              ? PrivilegeLevel.KERNEL
              : PrivilegeLevel.USER;
    }
    if (level == PrivilegeLevel.USER && !hypervisor.has(Capability.USER_MODE_ENTRY)) {
      throw new MissingCapabilityException(
          hypervisor.name(), Capability.USER_MODE_ENTRY, "running guest functions at CPL 3");
    }
    return level;
  }

  /**
   * Runs the guest's initialization to READY and reads its function table. The call timeout, if
   * set, bounds initialization too: a guest that never becomes ready must not hang build().
   */
  private static List<FunctionSignature> initialize(GuestVm vm, ExitLoop loop, Duration timeout) {
    ExitLoop.Result result;
    if (timeout == null) {
      result = loop.run(ExitLoop.READY, 0);
    } else {
      long deadline = System.nanoTime() + timeout.toNanos();
      VcpuInterrupter interrupter = vm.vcpu().interrupter();
      ScheduledFuture<?> timer = CallTimer.schedule(interrupter::interrupt, timeout);
      try {
        result = loop.run(ExitLoop.READY, 0, deadline, () -> false);
      } finally {
        timer.cancel(false);
      }
    }
    if (!(result.stop() instanceof Stop.Signalled)) {
      throw Failures.of(result.stop(), result.hostFailures(), "initialization", timeout);
    }
    try {
      return WireCodec.decodeFunctionTable(vm.output());
    } catch (WireFormatException e) {
      throw new ProtocolViolationException(
          "protocol violation during the initialization: bad function table: " + e.getMessage(),
          null);
    }
  }
}
