package dev.glint.sandbox;

import dev.glint.hv.Capability;
import dev.glint.hv.FpuState;
import dev.glint.hv.GuestMemory;
import dev.glint.hv.Hypervisor;
import dev.glint.hv.MemoryImage;
import dev.glint.hv.MissingCapabilityException;
import dev.glint.hv.Registers;
import dev.glint.hv.SpecialRegisters;
import dev.glint.hv.spi.HypervisorProvider;
import dev.glint.hv.spi.Hypervisors;
import dev.glint.sandbox.internal.layout.MemoryInitializer;
import dev.glint.sandbox.internal.layout.MemoryPlan;
import dev.glint.sandbox.internal.snapshot.SnapshotContents;
import dev.glint.sandbox.internal.snapshot.SnapshotFile;
import dev.glint.sandbox.internal.snapshot.SnapshotFormatException;
import dev.glint.sandbox.internal.wire.FunctionSignature;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
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

  /**
   * Writes the snapshot to {@code file} (format in {@code docs/snapshot-file.md}: versioned, with
   * the guest ABI version, the memory layout, the vCPU state, the non-zero memory pages and CRC32C
   * checksums). The file is replaced atomically: a reader never sees half of it.
   *
   * @param file where to write; an existing file is replaced
   * @throws IOException if the file cannot be written
   * @throws IllegalStateException if the snapshot is closed
   */
  public void save(Path file) throws IOException {
    Objects.requireNonNull(file, "file");
    // The image is opaque: read its bytes through a clone, which shares its pages.
    try (GuestMemory view = owner.allocateMemory(image())) {
      SnapshotFile.write(
          new SnapshotContents(
              backend(),
              MemoryInitializer.ABI_MAJOR,
              privilegeLevel.cpl(),
              plan,
              table,
              registers,
              specialRegisters,
              Optional.ofNullable(fpu),
              view.segment()),
          file);
    }
  }

  /**
   * Loads a snapshot that {@link #save} wrote, on the backend named in the file. See {@link
   * #load(Path, String)}.
   *
   * @param file the snapshot file
   * @return the snapshot; the caller owns it and must close it
   * @throws SnapshotFileException if the file is not a valid snapshot for this Glint and backend
   * @throws IOException if the file cannot be read
   * @throws dev.glint.hv.HypervisorException if the backend is unavailable or fails
   */
  public static Snapshot load(Path file) throws IOException {
    return load(file, null);
  }

  /**
   * Loads a snapshot that {@link #save} wrote. Every byte is checked before it is used: the format
   * version and the guest ABI version must be this Glint's, the memory layout must be one the
   * builder could have made and fit the backend, the function table must be well formed, and both
   * checksums must match; anything else is refused with {@link SnapshotFileException} and nothing
   * is created.
   *
   * @param file the snapshot file
   * @param backend the backend to load it on, or null for the one named in the file
   * @return the snapshot; the caller owns it and must close it
   * @throws SnapshotFileException if the file is not a valid snapshot for this Glint and backend
   * @throws IOException if the file cannot be read
   * @throws dev.glint.hv.HypervisorException if the backend is unavailable or fails
   */
  public static Snapshot load(Path file, String backend) throws IOException {
    Objects.requireNonNull(file, "file");
    SnapshotContents peek;
    Hypervisor owner = null;
    boolean success = false;
    try (Arena arena = Arena.ofConfined()) {
      // The backend bounds the memory size the reader accepts, so open it first when named.
      HypervisorProvider provider = backend != null ? Hypervisors.require(backend) : null;
      if (provider != null) {
        owner = provider.open();
      }
      try {
        peek =
            SnapshotFile.read(
                file,
                arena,
                owner != null
                    ? Math.min(owner.maxMemoryBytes(), SnapshotFile.MAX_MEMORY_SIZE)
                    : SnapshotFile.MAX_MEMORY_SIZE);
      } catch (SnapshotFormatException e) {
        throw new SnapshotFileException(file, e.getMessage(), e);
      }
      if (owner == null) {
        owner = Hypervisors.require(peek.backend()).open();
      }
      if (peek.plan().memorySize() > owner.maxMemoryBytes()) {
        throw new SnapshotFileException(
            file,
            "snapshot file %s: its memory size %d exceeds backend '%s''s maximum of %d bytes"
                .formatted(file, peek.plan().memorySize(), owner.name(), owner.maxMemoryBytes()),
            null);
      }
      PrivilegeLevel level = peek.cpl() == 3 ? PrivilegeLevel.USER : PrivilegeLevel.KERNEL;
      if (level == PrivilegeLevel.USER && !owner.has(Capability.USER_MODE_ENTRY)) {
        throw new MissingCapabilityException(
            owner.name(), Capability.USER_MODE_ENTRY, "a snapshot of a CPL-3 guest");
      }
      MemoryImage image = owner.createImage(peek.memory());
      Snapshot snapshot =
          new Snapshot(
              owner,
              image,
              peek.plan(),
              level,
              peek.functions(),
              peek.registers(),
              peek.specialRegisters(),
              peek.fpu().orElse(null));
      success = true;
      return snapshot;
    } finally {
      if (!success && owner != null) {
        owner.close();
      }
    }
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
