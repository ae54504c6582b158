package dev.glint.sandbox;

import dev.glint.hv.FpuState;
import dev.glint.hv.Hypervisor;
import dev.glint.hv.MemoryImage;
import dev.glint.hv.Registers;
import dev.glint.hv.SpecialRegisters;
import dev.glint.sandbox.internal.layout.MemoryPlan;
import dev.glint.sandbox.internal.wire.FunctionSignature;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A sandbox's state at one moment, memory and vCPU: taken with {@link Sandbox#snapshot()}, put back
 * with {@link Sandbox#restore(Snapshot)}, and the starting point of new sandboxes with {@link
 * Sandbox.Builder#snapshot(Snapshot)}, which start without running the guest's initialization.
 *
 * {@snippet :
 * try (Sandbox template = Sandbox.builder().guest(Path.of("hello.elf")).build();
 *     Snapshot ready = template.snapshot();
 *     Sandbox sandbox = Sandbox.builder().snapshot(ready).build()) {
 *   sandbox.call("PrintOutput", ValueType.I32, "Hello from a snapshot!");
 * }
 * }
 *
 * <p><b>Sharing:</b> the memory is held once, as an immutable image; sandboxes started from the
 * snapshot share its pages copy-on-write where the backend has {@link
 * dev.glint.hv.Capability#COPY_ON_WRITE_IMAGES}, so each costs little more than the pages it
 * writes. The vCPU state includes FPU/SSE registers only where the backend can read them ({@link
 * #includesFpuState()}).
 *
 * <p><b>Ownership:</b> the caller of {@link Sandbox#snapshot()} owns the snapshot and must close
 * it. It owns its image and an open hypervisor of its own, so it outlives the sandbox it came from.
 * Sandboxes started from it, or that took it, keep working after it is closed, restores to it
 * included (they hold the pages they need); only starting a new sandbox from it, or restoring a
 * sandbox that runs on another snapshot to it, needs it open.
 *
 * <p><b>Thread safety:</b> thread-safe; many sandboxes may start from one snapshot at once.
 */
public final class Snapshot implements AutoCloseable {
  private final Hypervisor owner;
  private final MemoryImage image;
  private final MemoryPlan plan;
  private final PrivilegeLevel privilegeLevel;
  private final List<FunctionSignature> table;
  private final List<GuestFunction> functions;
  private final Registers registers;
  private final SpecialRegisters specialRegisters;
  private final FpuState fpu;
  private final AtomicBoolean closed = new AtomicBoolean();

  /**
   * Takes ownership of {@code owner} and {@code image}.
   *
   * @param fpu the FPU state, or null where the backend cannot read it
   */
  Snapshot(
      Hypervisor owner,
      MemoryImage image,
      MemoryPlan plan,
      PrivilegeLevel privilegeLevel,
      List<FunctionSignature> table,
      Registers registers,
      SpecialRegisters specialRegisters,
      FpuState fpu) {
    this.owner = owner;
    this.image = image;
    this.plan = plan;
    this.privilegeLevel = privilegeLevel;
    this.table = List.copyOf(table);
    this.functions = this.table.stream().map(Sandbox::toPublic).toList();
    this.registers = registers;
    this.specialRegisters = specialRegisters;
    this.fpu = fpu;
  }

  /** {@return the hypervisor backend's name; sandboxes from this snapshot use that backend} */
  public String backend() {
    return owner.name();
  }

  /** {@return the privilege level of the guest's functions} */
  public PrivilegeLevel privilegeLevel() {
    return privilegeLevel;
  }

  /** {@return the guest memory size in bytes} */
  public long memorySize() {
    return plan.memorySize();
  }

  /** {@return the functions the guest exports} */
  public List<GuestFunction> functions() {
    return functions;
  }

  /**
   * {@return whether the FPU/SSE registers are part of the snapshot} False where the backend cannot
   * read them (no {@link dev.glint.hv.Capability#FPU_STATE}); a restore then leaves them as the
   * last call left them. Guests built with the Glint SDK use general-purpose registers only.
   */
  public boolean includesFpuState() {
    return fpu != null;
  }

  /** {@return whether {@link #close()} has been called} */
  public boolean isClosed() {
    return closed.get();
  }

  /** Frees the image and the snapshot's hypervisor. Idempotent. */
  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      try {
        image.close();
      } finally {
        owner.close();
      }
    }
  }

  /** {@return the image, after checking the snapshot is open} */
  MemoryImage image() {
    if (closed.get()) {
      throw new IllegalStateException("the snapshot is closed");
    }
    return image;
  }

  /** {@return the image, open or not} */
  MemoryImage imageEvenIfClosed() {
    return image;
  }

  MemoryPlan plan() {
    return plan;
  }

  List<FunctionSignature> table() {
    return table;
  }

  Registers registers() {
    return registers;
  }

  SpecialRegisters specialRegisters() {
    return specialRegisters;
  }

  /** {@return the FPU state, or null if the snapshot has none} */
  FpuState fpu() {
    return fpu;
  }

  /**
   * {@return why a sandbox of this layout, level and function table cannot take this snapshot, or
   * null if it can}
   */
  String incompatibility(
      String backend, MemoryPlan plan, PrivilegeLevel level, List<FunctionSignature> table) {
    if (!backend().equals(backend)) {
      return "the snapshot is of backend '%s', the sandbox runs on '%s'"
          .formatted(backend(), backend);
    }
    if (!this.table.equals(table)) {
      return "the snapshot's guest exports other functions (%s) than the sandbox's (%s)"
          .formatted(this.functions, table.stream().map(Sandbox::toPublic).toList());
    }
    if (privilegeLevel != level) {
      return "the snapshot runs the guest at %s, the sandbox at %s"
          .formatted(privilegeLevel, level);
    }
    if (!this.plan.equals(plan)) {
      return "the snapshot's memory layout %s differs from the sandbox's %s"
          .formatted(this.plan, plan);
    }
    return null;
  }

  @Override
  public String toString() {
    return "Snapshot[%s, %s, %d MiB, %d functions%s]"
        .formatted(
            backend(),
            privilegeLevel,
            plan.memorySize() >> 20,
            table.size(),
            closed.get() ? ", closed" : "");
  }

  static void requireOpen(Snapshot snapshot) {
    Objects.requireNonNull(snapshot, "snapshot").image();
  }
}
