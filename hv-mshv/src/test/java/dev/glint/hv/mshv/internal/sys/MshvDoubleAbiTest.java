package dev.glint.hv.mshv.internal.sys;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The ABI double against the documented uapi, call by call, with the raw ioctls (no backend code in
 * between): the checks {@code include/uapi/linux/mshv.h} documents and {@code mshv_root_main.c}
 * makes, so the double cannot quietly accept what the real driver refuses. Runs only where the
 * double is loaded ({@code -Dglint.hv.mshv.libc}) and {@code /dev/kvm} opens.
 */
class MshvDoubleAbiTest {
  private int device = -1;
  private int partition = -1;
  private Arena arena;

  @BeforeEach
  void openDevice() {
    assumeTrue(
        !System.getProperty(Libc.LIBRARY_PROPERTY, "").isBlank(), "the ABI double is not loaded");
    assumeTrue(dev.glint.hv.mshv.MshvDoubleRequirement.kvmOpens(), "/dev/kvm does not open");
    device = Libc.open("/dev/mshv", Libc.O_RDWR | Libc.O_CLOEXEC);
    assertTrue(device >= 0, () -> "open: " + Errno.name(-device));
    partition = Mshv.createPartition(device, 0);
    assertTrue(partition >= 0, () -> "MSHV_CREATE_PARTITION: " + Errno.name(-partition));
    arena = Arena.ofConfined();
  }

  @AfterEach
  void close() {
    if (partition >= 0) {
      Libc.close(partition);
    }
    if (device >= 0) {
      Libc.close(device);
    }
    if (arena != null) {
      arena.close();
    }
  }

  @Test
  void partitionFlagsOutsideTheMaskAreRefused() {
    assertEquals(-Errno.EINVAL, Mshv.createPartition(device, 1L << Mshv.MSHV_PT_BIT_COUNT));
  }

  @Test
  void aVpNeedsAnInitializedPartitionAndOnlyOneIndexZero() {
    assertEquals(-Errno.EINVAL, Mshv.createVp(partition, 0));
    assertEquals(0, Mshv.initializePartition(partition));
    assertEquals(-Errno.EINVAL, Mshv.initializePartition(partition));
    int vp = Mshv.createVp(partition, 0);
    assertTrue(vp >= 0, () -> Errno.name(-vp));
    try {
      assertEquals(-Errno.EEXIST, Mshv.createVp(partition, 0));
    } finally {
      Libc.close(vp);
    }
  }

  @Test
  void guestMemoryFollowsTheUapiRules() {
    long host =
        Libc.mmap(
            0x4000, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS, -1);
    assertTrue(host > 0);
    try {
      int rwx = 1 << Mshv.MSHV_SET_MEM_BIT_WRITABLE | 1 << Mshv.MSHV_SET_MEM_BIT_EXECUTABLE;
      assertEquals(
          -Errno.EINVAL, Mshv.setGuestMemory(partition, 0x10000, 0x1001, host, rwx), "size");
      assertEquals(
          -Errno.EINVAL, Mshv.setGuestMemory(partition, 0x10000, 0x1000, host + 8, rwx), "host");
      assertEquals(
          -Errno.EINVAL, Mshv.setGuestMemory(partition, 0x10000, 0x1000, host, 1 << 3), "flags");
      assertEquals(0, Mshv.setGuestMemory(partition, 0x10000, 0x2000, host, rwx));
      assertEquals(
          -Errno.EEXIST,
          Mshv.setGuestMemory(partition, 0x11000, 0x1000, host + 0x2000, rwx),
          "GPA overlap");
      assertEquals(
          -Errno.EEXIST,
          Mshv.setGuestMemory(partition, 0x40000, 0x1000, host + 0x1000, rwx),
          "host overlap");
      int unmap = 1 << Mshv.MSHV_SET_MEM_BIT_UNMAP;
      assertEquals(
          -Errno.EINVAL,
          Mshv.setGuestMemory(partition, 0x10000, 0x1000, host, unmap),
          "partial unmap");
      assertEquals(0, Mshv.setGuestMemory(partition, 0x10000, 0x2000, host, unmap));
      // The double cannot forbid execution on KVM, so it refuses instead of faking it.
      assertEquals(
          -Errno.EOPNOTSUPP,
          Mshv.setGuestMemory(
              partition, 0x10000, 0x1000, host, 1 << Mshv.MSHV_SET_MEM_BIT_WRITABLE));
    } finally {
      Libc.munmap(host, 0x4000);
    }
  }

  @Test
  void theHypercallPassThroughChecksItsArgumentsAndReportsStatusAndReps() {
    assertEquals(0, Mshv.initializePartition(partition));
    int vp = Mshv.createVp(partition, 0);
    assertTrue(vp >= 0);
    try {
      MemorySegment args = arena.allocate(Mshv.ROOT_HVCALL);
      MemorySegment in = arena.allocate(4096, 4096);
      MemorySegment out = arena.allocate(4096, 4096);
      // status must be zero on input
      hvcall(args, HvRegisters.HVCALL_GET_VP_REGISTERS, 1, 20, 16, in, out);
      args.set(JAVA_SHORT_UNALIGNED, 8, (short) 1);
      assertEquals(-Errno.EINVAL, Libc.ioctl(vp, Mshv.MSHV_ROOT_HVCALL, args));
      // a code off the driver's allow-list
      hvcall(args, 0x0001, 0, 16, 0, in, out);
      assertEquals(-Errno.EINVAL, Libc.ioctl(vp, Mshv.MSHV_ROOT_HVCALL, args));
      // RIP, then a name that is no register: one rep completes, the status names the problem
      in.set(JAVA_INT_UNALIGNED, 16, HvRegisters.HV_X64_REGISTER_RIP);
      in.set(JAVA_INT_UNALIGNED, 20, 0x7FFF_FFFF);
      hvcall(args, HvRegisters.HVCALL_GET_VP_REGISTERS, 2, 24, 32, in, out);
      assertEquals(-Errno.EINVAL, Libc.ioctl(vp, Mshv.MSHV_ROOT_HVCALL, args));
      assertEquals(
          HvRegisters.HV_STATUS_INVALID_PARAMETER,
          Short.toUnsignedInt(args.get(JAVA_SHORT_UNALIGNED, 8)));
      assertEquals(1, Short.toUnsignedInt(args.get(JAVA_SHORT_UNALIGNED, 2)), "reps completed");
      assertEquals(0xFFF0L, out.get(JAVA_LONG_UNALIGNED, 0), "RIP at reset (real mode)");
    } finally {
      Libc.close(vp);
    }
  }

  @Test
  void otherIoctlsOnTheDeviceAreNotTtys() {
    assertEquals(-Errno.ENOTTY, Libc.ioctl(device, 0xAE00L, 0L));
  }

  private static void hvcall(
      MemorySegment args,
      int code,
      int reps,
      int inSize,
      int outSize,
      MemorySegment in,
      MemorySegment out) {
    args.fill((byte) 0);
    args.set(JAVA_SHORT_UNALIGNED, 0, (short) code);
    args.set(JAVA_SHORT_UNALIGNED, 2, (short) reps);
    args.set(JAVA_SHORT_UNALIGNED, 4, (short) inSize);
    args.set(JAVA_SHORT_UNALIGNED, 6, (short) outSize);
    args.set(JAVA_LONG_UNALIGNED, 16, in.address());
    args.set(JAVA_LONG_UNALIGNED, 24, outSize == 0 ? 0 : out.address());
    in.asSlice(0, 16).fill((byte) 0);
    in.set(JAVA_BYTE, 12, (byte) 0);
  }
}
