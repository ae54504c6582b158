package dev.glint.hv.kvm.internal;

import dev.glint.hv.Capability;
import dev.glint.hv.PrivilegedExecution;
import java.util.Optional;
import java.util.Set;

/**
 * What the probe learnt about this host's KVM, shared by every {@link KvmHypervisor}: fixed for the
 * life of the process.
 *
 * @param description for {@link dev.glint.hv.Hypervisor#description()}
 * @param capabilities the capabilities provided
 * @param privilegedExecution NATIVE on VMX/SVM, EMULATED on PVM
 * @param syncRegs whether {@code KVM_CAP_SYNC_REGS} covers regs and sregs
 * @param memorySlots {@code KVM_CAP_NR_MEMSLOTS}
 * @param vcpuMmapSize {@code KVM_GET_VCPU_MMAP_SIZE}, bytes
 * @param supportedCpuid {@code KVM_GET_SUPPORTED_CPUID} entries, set on every vCPU
 * @param physicalAddressBits the guest-physical address width
 * @param signal the real-time signal that kicks vCPUs, or 0 when cancellation is unavailable
 * @param cancelUnavailableReason why {@link Capability#CANCEL} is missing, if it is
 * @param dirtyRingCapability the {@code KVM_CAP_DIRTY_LOG_RING*} capability to enable on each VM
 *     for dirty tracking by ring, or 0 when KVM has none (then {@code KVM_GET_DIRTY_LOG} it is)
 * @param dirtyRingMaxBytes the largest ring KVM allows per vCPU, in bytes (0 without a ring)
 */
record KvmHost(
    String description,
    Set<Capability> capabilities,
    PrivilegedExecution privilegedExecution,
    boolean syncRegs,
    int memorySlots,
    long vcpuMmapSize,
    int[] supportedCpuid,
    int physicalAddressBits,
    int signal,
    Optional<String> cancelUnavailableReason,
    int dirtyRingCapability,
    long dirtyRingMaxBytes) {

  KvmHost {
    capabilities = Set.copyOf(capabilities);
    supportedCpuid = supportedCpuid.clone();
  }

  /** {@return whether KVM offers the dirty ring here} */
  boolean hasDirtyRing() {
    return dirtyRingCapability != 0 && dirtyRingMaxBytes > 0;
  }

  /** {@return the first guest-physical address beyond what the guest can address} */
  long guestAddressLimit() {
    return 1L << physicalAddressBits;
  }
}
