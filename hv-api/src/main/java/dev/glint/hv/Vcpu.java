package dev.glint.hv;

/**
 * The one virtual CPU of a {@link Partition}, created by {@link Partition#createVcpu()}.
 *
 * <p><b>Threading:</b> a vCPU is not thread-safe. Calls must not overlap; they may come from
 * different platform threads one after another (a virtual thread's carrier can change, so run vCPUs
 * on platform threads). Only {@link #interrupter()}'s handle may be used concurrently with {@link
 * #run()}.
 *
 * <table class="striped">
 *   <caption>Who may call what</caption>
 *   <thead><tr><th>method</th><th>thread</th></tr></thead>
 *   <tbody>
 *     <tr><td>{@code run}, register access, {@code complete*}</td>
 *         <td>one thread at a time (the caller serializes)</td></tr>
 *     <tr><td>{@code interrupter().interrupt()}</td><td>any thread, any time</td></tr>
 *     <tr><td>{@code close}</td><td>any thread, not during {@code run}</td></tr>
 *   </tbody>
 * </table>
 *
 * <p><b>Lifetime:</b> closing the vCPU or its partition frees it; later calls throw {@link
 * ClosedResourceException}. Close is idempotent.
 *
 * <p>Register writes may be staged and applied by the next {@link #run()} (KVM's synced registers,
 * where each vCPU ioctl is expensive), so a failure to apply them can surface from {@code run()}.
 */
public interface Vcpu extends AutoCloseable {

  /**
   * {@return the general registers, RIP and RFLAGS}
   *
   * @throws ClosedResourceException if the vCPU is closed
   * @throws HypervisorException if the backend fails to read them
   */
  Registers registers();

  /**
   * Sets the general registers, RIP and RFLAGS.
   *
   * @throws ClosedResourceException if the vCPU is closed
   * @throws HypervisorException if the backend fails to write them
   */
  void setRegisters(Registers registers);

  /**
   * {@return the segment, descriptor-table, control registers and EFER}
   *
   * @throws ClosedResourceException if the vCPU is closed
   * @throws HypervisorException if the backend fails to read them
   */
  SpecialRegisters specialRegisters();

  /**
   * Sets the segment, descriptor-table, control registers and EFER.
   *
   * @throws ClosedResourceException if the vCPU is closed
   * @throws HypervisorException if the backend rejects them
   */
  void setSpecialRegisters(SpecialRegisters specialRegisters);

  /**
   * {@return the x87 FPU and SSE state} (not AVX or later extended state; see {@link FpuState})
   *
   * @throws MissingCapabilityException if the hypervisor lacks {@link Capability#FPU_STATE}
   * @throws ClosedResourceException if the vCPU is closed
   * @throws HypervisorException if the backend fails to read it
   */
  FpuState fpuState();

  /**
   * Sets the x87 FPU and SSE state. A backend may apply it at once (an ioctl on KVM) even where it
   * stages general-register writes.
   *
   * @throws MissingCapabilityException if the hypervisor lacks {@link Capability#FPU_STATE}
   * @throws ClosedResourceException if the vCPU is closed
   * @throws HypervisorException if the backend rejects it (such as MXCSR with reserved bits set)
   */
  void setFpuState(FpuState fpuState);

  /**
   * Runs the guest until its next exit.
   *
   * @return why the guest stopped
   * @throws ClosedResourceException if the vCPU is closed
   * @throws IllegalStateException if an {@link VcpuExit.IoIn} or {@link VcpuExit.MmioRead} was not
   *     answered
   * @throws HypervisorException if the backend fails to run the guest
   */
  VcpuExit run();

  /**
   * Supplies the value the guest reads for the {@link VcpuExit.IoIn} the last run returned.
   *
   * @param value the value; only the exit's size in low bytes is used
   * @throws IllegalStateException if the last exit was not {@code IoIn} or was already answered
   */
  void completeIoIn(long value);

  /**
   * Supplies the value the guest reads for the {@link VcpuExit.MmioRead} the last run returned.
   *
   * @param value the value; only the exit's size in low bytes is used
   * @throws IllegalStateException if the last exit was not {@code MmioRead} or was already answered
   */
  void completeMmioRead(long value);

  /**
   * Finishes, without running the guest, whatever the last exit left for the next run to complete,
   * so that the vCPU's state is settled: registers read afterwards are the ones the guest would
   * resume with (past the {@code out} of an {@link VcpuExit.IoOut}, for example), and registers set
   * afterwards are not changed by the completion of an earlier exit. An unanswered {@link
   * VcpuExit.IoIn} or {@link VcpuExit.MmioRead} completes as if it read zero. Call it before saving
   * the vCPU's state for a snapshot and before setting the registers of one. Does nothing when
   * nothing is pending.
   *
   * <p>A pending interrupt from {@link #interrupter()} stays pending.
   *
   * @throws ClosedResourceException if the vCPU is closed
   * @throws IllegalStateException if a run is in progress on another thread, or the exit cannot be
   *     completed without running the guest (a string I/O instruction with too many items left)
   * @throws HypervisorException if the backend fails
   */
  void settle();

  /**
   * {@return the handle that stops {@link #run()} from any thread}
   *
   * @throws MissingCapabilityException if the backend lacks {@link Capability#CANCEL}
   */
  VcpuInterrupter interrupter();

  /** Frees the vCPU. Idempotent; must not be called while {@link #run()} is in progress. */
  @Override
  void close();
}
