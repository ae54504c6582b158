package dev.glint.hv.kvm;

/**
 * {@link KvmBackendTest} with {@code -Dglint.hv.kvm.syncRegs=false}: registers go through {@code
 * KVM_GET/SET_REGS} and {@code KVM_GET/SET_SREGS}, the path used where {@code KVM_CAP_SYNC_REGS} is
 * missing.
 */
class KvmBackendIoctlRegistersTest extends KvmBackendTest {
  @Override
  boolean syncRegs() {
    return false;
  }
}
