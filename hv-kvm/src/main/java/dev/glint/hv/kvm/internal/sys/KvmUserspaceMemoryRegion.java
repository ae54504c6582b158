package dev.glint.hv.kvm.internal.sys;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code struct kvm_userspace_memory_region} of {@code /usr/include/linux/kvm.h} (linux-libc-dev
 * 6.1) and {@code KVM_SET_USER_MEMORY_REGION}, which creates, changes or (with size 0) deletes a
 * memory slot of a VM.
 */
public final class KvmUserspaceMemoryRegion {
  /** The layout, 32 bytes. */
  public static final StructLayout LAYOUT =
      MemoryLayout.structLayout(
          JAVA_INT.withName("slot"),
          JAVA_INT.withName("flags"),
          JAVA_LONG.withName("guest_phys_addr"),
          JAVA_LONG.withName("memory_size"),
          JAVA_LONG.withName("userspace_addr"));

  public static final long KVM_SET_USER_MEMORY_REGION =
      Ioctl.iow(Ioctl.KVMIO, 0x46, LAYOUT.byteSize());

  private static final VarHandle SLOT = LAYOUT.varHandle(groupElement("slot"));
  private static final VarHandle FLAGS = LAYOUT.varHandle(groupElement("flags"));
  private static final VarHandle GUEST_PHYS_ADDR =
      LAYOUT.varHandle(groupElement("guest_phys_addr"));
  private static final VarHandle MEMORY_SIZE = LAYOUT.varHandle(groupElement("memory_size"));
  private static final VarHandle USERSPACE_ADDR = LAYOUT.varHandle(groupElement("userspace_addr"));

  private KvmUserspaceMemoryRegion() {}

  /**
   * Calls {@code KVM_SET_USER_MEMORY_REGION} on a VM fd.
   *
   * @param size the slot size in bytes; 0 deletes the slot
   * @return 0 or -errno
   */
  public static int set(
      int vmFd, int slot, int flags, long guestPhysAddr, long size, long hostAddr) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment region = arena.allocate(LAYOUT);
      SLOT.set(region, 0L, slot);
      FLAGS.set(region, 0L, flags);
      GUEST_PHYS_ADDR.set(region, 0L, guestPhysAddr);
      MEMORY_SIZE.set(region, 0L, size);
      USERSPACE_ADDR.set(region, 0L, hostAddr);
      return Libc.ioctl(vmFd, KVM_SET_USER_MEMORY_REGION, region);
    }
  }
}
