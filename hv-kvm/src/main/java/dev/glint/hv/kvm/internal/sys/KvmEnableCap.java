package dev.glint.hv.kvm.internal.sys;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.MemoryLayout.PathElement.sequenceElement;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code struct kvm_enable_cap} of {@code /usr/include/linux/kvm.h} (linux-libc-dev 6.1) and {@code
 * KVM_ENABLE_CAP}, which turns on an optional behaviour of a VM (on a VM fd) or a vCPU (on a vCPU
 * fd), with up to four arguments whose meaning depends on the capability.
 */
public final class KvmEnableCap {
  /** The layout, 104 bytes. */
  public static final StructLayout LAYOUT =
      MemoryLayout.structLayout(
          JAVA_INT.withName("cap"),
          JAVA_INT.withName("flags"),
          MemoryLayout.sequenceLayout(4, JAVA_LONG).withName("args"),
          MemoryLayout.sequenceLayout(64, JAVA_BYTE).withName("pad"));

  public static final long KVM_ENABLE_CAP = Ioctl.iow(Ioctl.KVMIO, 0xa3, LAYOUT.byteSize());

  private static final VarHandle CAP = LAYOUT.varHandle(groupElement("cap"));
  private static final VarHandle ARG = LAYOUT.varHandle(groupElement("args"), sequenceElement());

  private KvmEnableCap() {}

  /**
   * Calls {@code KVM_ENABLE_CAP} with {@code args[0] = arg0}, every other field zero.
   *
   * @param fd a VM or vCPU fd
   * @param capability the {@code KVM_CAP_*} number
   * @return 0 or -errno
   */
  public static int enable(int fd, int capability, long arg0) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment request = arena.allocate(LAYOUT); // zeroed: flags, args[1..3], pad
      CAP.set(request, 0L, capability);
      ARG.set(request, 0L, 0L, arg0);
      return Libc.ioctl(fd, KVM_ENABLE_CAP, request);
    }
  }
}
