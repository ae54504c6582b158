package dev.glint.sandbox.internal.snapshot;

import dev.glint.hv.FpuState;
import dev.glint.hv.Registers;
import dev.glint.hv.SpecialRegisters;
import dev.glint.sandbox.internal.layout.MemoryPlan;
import dev.glint.sandbox.internal.wire.FunctionSignature;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Everything a snapshot file holds: a sandbox's identity (backend, ABI, privilege level), its
 * memory layout and function table, its vCPU state and its guest memory. A value; the constructor
 * refuses anything {@link SnapshotFile#read} would refuse, so whatever is written can be read back.
 *
 * <p>The memory is a view, not a copy: {@code equals} compares it by address and size, as {@link
 * MemorySegment#equals} does, and it must not change while {@link SnapshotFile#write} runs.
 *
 * @param backend the hypervisor backend's name, such as "kvm": 1..64 printable ASCII characters
 * @param abiMajor the guest ABI major version the memory was initialized for, 0..65535
 * @param cpl the privilege level of the guest's functions, 0 or 3
 * @param plan the memory layout, exactly as {@link MemoryPlan#of} makes it from its sizes
 * @param functions the guest's function table: at most 256, unique names of 1..255 UTF-8 bytes
 *     without NUL
 * @param registers the general-purpose registers, RIP and RFLAGS
 * @param specialRegisters the segment, descriptor-table, control and model-specific registers
 * @param fpu the x87/SSE state, present only where the backend could read it
 * @param memory the guest memory, {@code plan.memorySize()} bytes
 */
public record SnapshotContents(
    String backend,
    int abiMajor,
    int cpl,
    MemoryPlan plan,
    List<FunctionSignature> functions,
    Registers registers,
    SpecialRegisters specialRegisters,
    Optional<FpuState> fpu,
    MemorySegment memory) {

  /**
   * Checks every value against the rules of the file format and copies the function list.
   *
   * @throws IllegalArgumentException naming the value that breaks a rule
   */
  public SnapshotContents {
    Objects.requireNonNull(backend, "backend");
    Objects.requireNonNull(plan, "plan");
    Objects.requireNonNull(registers, "registers");
    Objects.requireNonNull(specialRegisters, "specialRegisters");
    Objects.requireNonNull(fpu, "fpu");
    Objects.requireNonNull(memory, "memory");
    functions = List.copyOf(functions);
    check(SnapshotRules.backendProblem(backend.getBytes(StandardCharsets.UTF_8)));
    if (abiMajor < 0 || abiMajor > 0xFFFF) {
      throw new IllegalArgumentException(
          "ABI major version %d must be 0..65535".formatted(abiMajor));
    }
    check(SnapshotRules.cplProblem(cpl));
    check(SnapshotRules.planProblem(SnapshotRules.planFields(plan)));
    check(SnapshotRules.functionsProblem(functions));
    if (memory.byteSize() != plan.memorySize()) {
      throw new IllegalArgumentException(
          "memory holds %d bytes, but the plan's memory size is %d"
              .formatted(memory.byteSize(), plan.memorySize()));
    }
  }

  private static void check(String problem) {
    if (problem != null) {
      throw new IllegalArgumentException(problem);
    }
  }
}
