package dev.glint.hv.kvm.internal.sys;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code struct kvm_cpuid2} and {@code struct kvm_cpuid_entry2} of {@code /usr/include/asm/kvm.h}
 * (x86, linux-libc-dev 6.1), with {@code KVM_GET_SUPPORTED_CPUID} (system fd) and {@code
 * KVM_SET_CPUID2} (vCPU fd). Entries travel as {@code int[]} of {@link #ENTRY_INTS} values each, in
 * C member order, so no struct memory outlives a call.
 */
public final class KvmCpuid2 {
  /** {@code struct kvm_cpuid_entry2}, 40 bytes. */
  public static final StructLayout ENTRY =
      MemoryLayout.structLayout(
          JAVA_INT.withName("function"),
          JAVA_INT.withName("index"),
          JAVA_INT.withName("flags"),
          JAVA_INT.withName("eax"),
          JAVA_INT.withName("ebx"),
          JAVA_INT.withName("ecx"),
          JAVA_INT.withName("edx"),
          MemoryLayout.sequenceLayout(3, JAVA_INT).withName("padding"));

  /** {@code struct kvm_cpuid2} without its flexible {@code entries[]}, 8 bytes. */
  public static final StructLayout HEADER =
      MemoryLayout.structLayout(JAVA_INT.withName("nent"), JAVA_INT.withName("padding"));

  public static final long KVM_GET_SUPPORTED_CPUID =
      Ioctl.iowr(Ioctl.KVMIO, 0x05, HEADER.byteSize());
  public static final long KVM_SET_CPUID2 = Ioctl.iow(Ioctl.KVMIO, 0x90, HEADER.byteSize());

  /** The number of {@code int}s per entry in the arrays of this class (the whole entry). */
  public static final int ENTRY_INTS = (int) (ENTRY.byteSize() / 4);

  private static final VarHandle NENT = HEADER.varHandle(groupElement("nent"));
  private static final int MAX_ENTRIES = 4096;

  private KvmCpuid2() {}

  /**
   * Calls {@code KVM_GET_SUPPORTED_CPUID}, growing the buffer while the kernel answers E2BIG.
   *
   * @param errno receives the errno when the call fails
   * @return the entries, or {@code null} on failure
   */
  public static int[] supported(int kvmFd, int[] errno) {
    for (int capacity = 64; capacity <= MAX_ENTRIES; capacity *= 2) {
      try (Arena arena = Arena.ofConfined()) {
        MemorySegment cpuid = arena.allocate(HEADER.byteSize() + capacity * ENTRY.byteSize(), 8);
        NENT.set(cpuid, 0L, capacity);
        int result = Libc.ioctl(kvmFd, KVM_GET_SUPPORTED_CPUID, cpuid);
        if (result == -Errno.E2BIG) {
          continue;
        }
        if (result < 0) {
          errno[0] = -result;
          return null;
        }
        int count = (int) NENT.get(cpuid, 0L);
        return cpuid.asSlice(HEADER.byteSize(), count * ENTRY.byteSize()).toArray(JAVA_INT);
      }
    }
    errno[0] = Errno.E2BIG;
    return null;
  }

  /** Calls {@code KVM_SET_CPUID2} on a vCPU fd: {@return 0 or -errno} */
  public static int set(int vcpuFd, int[] entries) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment cpuid = arena.allocate(HEADER.byteSize() + entries.length * 4L, 8);
      NENT.set(cpuid, 0L, entries.length / ENTRY_INTS);
      MemorySegment.copy(entries, 0, cpuid, JAVA_INT, HEADER.byteSize(), entries.length);
      return Libc.ioctl(vcpuFd, KVM_SET_CPUID2, cpuid);
    }
  }

  /**
   * {@return the guest-physical address width in bits from leaf 0x80000008 EAX[7:0], or {@code
   * fallback} when the entries lack that leaf}
   */
  public static int physicalAddressBits(int[] entries, int fallback) {
    for (int i = 0; i + ENTRY_INTS <= entries.length; i += ENTRY_INTS) {
      if (entries[i] == 0x8000_0008) {
        int bits = entries[i + 3] & 0xFF;
        return bits > 0 ? bits : fallback;
      }
    }
    return fallback;
  }
}
