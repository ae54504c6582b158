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
    Optional<String> cancelUnavailableReason) {

  KvmHost {
    capabilities = Set.copyOf(capabilities);
    supportedCpuid = supportedCpuid.clone();
  }

  /** {@return the first guest-physical address beyond what the guest can address} */
  long guestAddressLimit() {
    return 1L << physicalAddressBits;
  }
}
