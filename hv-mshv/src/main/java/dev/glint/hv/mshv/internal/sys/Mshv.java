package dev.glint.hv.mshv.internal.sys;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * The {@code /dev/mshv} ioctls and their argument structs, from {@code include/uapi/linux/mshv.h}
 * of Linux 6.15 (the first release with this uapi). Layouts are written by hand from that header
 * and checked against the double's documented header by {@code MshvLayoutTest};
 * docs/mshv-backend.md lists each with its source.
 *
 * <p>The ioctl numbers of the three fd kinds overlap ({@code MSHV_CREATE_PARTITION}, {@code
 * MSHV_INITIALIZE_PARTITION} and {@code MSHV_RUN_VP} all have number 0): each is only valid on its
 * own kind of fd.
 */
public final class Mshv {
  /** {@code struct mshv_create_partition}: 16 bytes. */
  public static final StructLayout CREATE_PARTITION =
      MemoryLayout.structLayout(JAVA_LONG.withName("pt_flags"), JAVA_LONG.withName("pt_isolation"))
          .withName("mshv_create_partition");

  /** {@code struct mshv_create_vp}: 4 bytes. */
  public static final StructLayout CREATE_VP =
      MemoryLayout.structLayout(JAVA_INT.withName("vp_index")).withName("mshv_create_vp");

  /** {@code struct mshv_user_mem_region}: 32 bytes. */
  public static final StructLayout USER_MEM_REGION =
      MemoryLayout.structLayout(
              JAVA_LONG.withName("size"),
              JAVA_LONG.withName("guest_pfn"),
              JAVA_LONG.withName("userspace_addr"),
              JAVA_BYTE.withName("flags"),
              MemoryLayout.sequenceLayout(7, JAVA_BYTE).withName("rsvd"))
          .withName("mshv_user_mem_region");

  /** {@code struct mshv_root_hvcall}: 32 bytes. */
  public static final StructLayout ROOT_HVCALL =
      MemoryLayout.structLayout(
              JAVA_SHORT.withName("code"),
              JAVA_SHORT.withName("reps"),
              JAVA_SHORT.withName("in_sz"),
              JAVA_SHORT.withName("out_sz"),
              JAVA_SHORT.withName("status"),
              MemoryLayout.sequenceLayout(6, JAVA_BYTE).withName("rsvd"),
              JAVA_LONG.withName("in_ptr"),
              JAVA_LONG.withName("out_ptr"))
          .withName("mshv_root_hvcall");

  /** {@code MSHV_RUN_VP_BUF_SZ}: the size of {@code struct mshv_run_vp}, one {@code hv_message}. */
  public static final int MSHV_RUN_VP_BUF_SZ = 256;

  /** {@code struct mshv_run_vp}: 256 bytes. */
  public static final StructLayout RUN_VP =
      MemoryLayout.structLayout(
              MemoryLayout.sequenceLayout(MSHV_RUN_VP_BUF_SZ, JAVA_BYTE).withName("msg_buf"))
          .withName("mshv_run_vp");

  public static final int MSHV_PT_BIT_LAPIC = 0;
  public static final int MSHV_PT_BIT_X2APIC = 1;
  public static final int MSHV_PT_BIT_GPA_SUPER_PAGES = 2;
  public static final int MSHV_PT_BIT_COUNT = 3;
  public static final int MSHV_PT_ISOLATION_NONE = 0;
  public static final int MSHV_SET_MEM_BIT_WRITABLE = 0;
  public static final int MSHV_SET_MEM_BIT_EXECUTABLE = 1;
  public static final int MSHV_SET_MEM_BIT_UNMAP = 2;
  public static final int MSHV_SET_MEM_BIT_COUNT = 3;
  public static final int MSHV_HV_PAGE_SIZE = 0x1000;
  public static final int MSHV_VP_MMAP_OFFSET_REGISTERS = 0;
  public static final int MSHV_VP_MMAP_OFFSET_INTERCEPT_MESSAGE = 1;

  /** {@code _IOW(MSHV_IOCTL, 0x00, struct mshv_create_partition)}, on {@code /dev/mshv}. */
  public static final long MSHV_CREATE_PARTITION =
      Ioctl.iow(Ioctl.MSHV_IOCTL, 0x00, CREATE_PARTITION.byteSize());

  /** {@code _IO(MSHV_IOCTL, 0x00)}, on a partition fd. */
  public static final long MSHV_INITIALIZE_PARTITION = Ioctl.io(Ioctl.MSHV_IOCTL, 0x00);

  /** {@code _IOW(MSHV_IOCTL, 0x01, struct mshv_create_vp)}, on a partition fd. */
  public static final long MSHV_CREATE_VP = Ioctl.iow(Ioctl.MSHV_IOCTL, 0x01, CREATE_VP.byteSize());

  /** {@code _IOW(MSHV_IOCTL, 0x02, struct mshv_user_mem_region)}, on a partition fd. */
  public static final long MSHV_SET_GUEST_MEMORY =
      Ioctl.iow(Ioctl.MSHV_IOCTL, 0x02, USER_MEM_REGION.byteSize());

  /** {@code _IOWR(MSHV_IOCTL, 0x07, struct mshv_root_hvcall)}, on a partition or VP fd. */
  public static final long MSHV_ROOT_HVCALL =
      Ioctl.iowr(Ioctl.MSHV_IOCTL, 0x07, ROOT_HVCALL.byteSize());

  /** {@code _IOR(MSHV_IOCTL, 0x00, struct mshv_run_vp)}, on a VP fd. */
  public static final long MSHV_RUN_VP = Ioctl.ior(Ioctl.MSHV_IOCTL, 0x00, RUN_VP.byteSize());

  private static final VarHandle PT_FLAGS = CREATE_PARTITION.varHandle(groupElement("pt_flags"));
  private static final VarHandle PT_ISOLATION =
      CREATE_PARTITION.varHandle(groupElement("pt_isolation"));
  private static final VarHandle VP_INDEX = CREATE_VP.varHandle(groupElement("vp_index"));
  private static final VarHandle MEM_SIZE = USER_MEM_REGION.varHandle(groupElement("size"));
  private static final VarHandle MEM_PFN = USER_MEM_REGION.varHandle(groupElement("guest_pfn"));
  private static final VarHandle MEM_ADDR =
      USER_MEM_REGION.varHandle(groupElement("userspace_addr"));
  private static final VarHandle MEM_FLAGS = USER_MEM_REGION.varHandle(groupElement("flags"));

  private Mshv() {}

  /**
   * {@code MSHV_CREATE_PARTITION} on the device fd. {@return the partition fd, or -errno}
   *
   * @param flags {@code pt_flags}, a mask of {@code 1 << MSHV_PT_BIT_*}
   */
  public static int createPartition(int deviceFd, long flags) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment args = arena.allocate(CREATE_PARTITION);
      PT_FLAGS.set(args, 0L, flags);
      PT_ISOLATION.set(args, 0L, (long) MSHV_PT_ISOLATION_NONE);
      return Libc.ioctl(deviceFd, MSHV_CREATE_PARTITION, args);
    }
  }

  /** {@code MSHV_INITIALIZE_PARTITION}. {@return 0 or -errno} */
  public static int initializePartition(int partitionFd) {
    return Libc.ioctl(partitionFd, MSHV_INITIALIZE_PARTITION, 0L);
  }

  /** {@code MSHV_CREATE_VP}. {@return the VP fd, or -errno} */
  public static int createVp(int partitionFd, int vpIndex) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment args = arena.allocate(CREATE_VP);
      VP_INDEX.set(args, 0L, vpIndex);
      return Libc.ioctl(partitionFd, MSHV_CREATE_VP, args);
    }
  }

  /**
   * {@code MSHV_SET_GUEST_MEMORY}. {@return 0 or -errno}
   *
   * @param flags a mask of {@code 1 << MSHV_SET_MEM_BIT_*}
   */
  public static int setGuestMemory(
      int partitionFd, long guestAddress, long size, long hostAddress, int flags) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment args = arena.allocate(USER_MEM_REGION); // zeroed: rsvd is zero
      MEM_SIZE.set(args, 0L, size);
      MEM_PFN.set(args, 0L, guestAddress / MSHV_HV_PAGE_SIZE);
      MEM_ADDR.set(args, 0L, hostAddress);
      MEM_FLAGS.set(args, 0L, (byte) flags);
      return Libc.ioctl(partitionFd, MSHV_SET_GUEST_MEMORY, args);
    }
  }

  /** {@code MSHV_RUN_VP} into {@code message} (256 bytes). {@return 0 or -errno} */
  public static int runVp(int vpFd, MemorySegment message) {
    return Libc.ioctl(vpFd, MSHV_RUN_VP, message);
  }
}
