package dev.glint.hv.kvm.internal.sys;

/**
 * The system and VM ioctls without a payload struct, and the constants of {@code
 * /usr/include/linux/kvm.h} (linux-libc-dev 6.1 here) that the backend uses: capabilities, exit
 * reasons, memory-region flags and sync-register bits. Checked by {@code KvmLayoutTest}.
 */
public final class Kvm {
  /** The only stable KVM API version. */
  public static final int KVM_API_VERSION = 12;

  public static final long KVM_GET_API_VERSION = Ioctl.io(Ioctl.KVMIO, 0x00);
  public static final long KVM_CREATE_VM = Ioctl.io(Ioctl.KVMIO, 0x01);
  public static final long KVM_CHECK_EXTENSION = Ioctl.io(Ioctl.KVMIO, 0x03);
  public static final long KVM_GET_VCPU_MMAP_SIZE = Ioctl.io(Ioctl.KVMIO, 0x04);
  public static final long KVM_CREATE_VCPU = Ioctl.io(Ioctl.KVMIO, 0x41);

  public static final int KVM_CAP_USER_MEMORY = 3;
  public static final int KVM_CAP_NR_MEMSLOTS = 10;
  public static final int KVM_CAP_SYNC_REGS = 74;
  public static final int KVM_CAP_READONLY_MEM = 81;
  public static final int KVM_CAP_IMMEDIATE_EXIT = 136;

  /**
   * The dirty ring without ordering demands on userspace (x86, since Linux 5.11); answers the
   * largest ring in bytes, 0 when absent.
   */
  public static final int KVM_CAP_DIRTY_LOG_RING = 192;

  /**
   * The dirty ring whose users must read and write entry flags with acquire/release semantics
   * (since Linux 6.1; the only one weakly ordered CPUs offer, x86 offers both); answers as {@link
   * #KVM_CAP_DIRTY_LOG_RING}.
   */
  public static final int KVM_CAP_DIRTY_LOG_RING_ACQ_REL = 223;

  public static final int KVM_MEM_LOG_DIRTY_PAGES = 1;
  public static final int KVM_MEM_READONLY = 1 << 1;

  public static final int KVM_SYNC_X86_REGS = 1;
  public static final int KVM_SYNC_X86_SREGS = 1 << 1;
  public static final int KVM_SYNC_X86_EVENTS = 1 << 2;

  public static final int KVM_EXIT_IO_IN = 0;
  public static final int KVM_EXIT_IO_OUT = 1;

  public static final int KVM_EXIT_UNKNOWN = 0;
  public static final int KVM_EXIT_IO = 2;
  public static final int KVM_EXIT_HLT = 5;
  public static final int KVM_EXIT_MMIO = 6;
  public static final int KVM_EXIT_SHUTDOWN = 8;
  public static final int KVM_EXIT_FAIL_ENTRY = 9;
  public static final int KVM_EXIT_INTR = 10;
  public static final int KVM_EXIT_INTERNAL_ERROR = 17;

  /** A vCPU's dirty ring is (soft-)full: harvest, reset, and run again. */
  public static final int KVM_EXIT_DIRTY_RING_FULL = 31;

  /** Every {@code KVM_EXIT_*} name of the 6.1 header, indexed by its value. */
  private static final String[] EXIT_NAMES = {
    "KVM_EXIT_UNKNOWN",
    "KVM_EXIT_EXCEPTION",
    "KVM_EXIT_IO",
    "KVM_EXIT_HYPERCALL",
    "KVM_EXIT_DEBUG",
    "KVM_EXIT_HLT",
    "KVM_EXIT_MMIO",
    "KVM_EXIT_IRQ_WINDOW_OPEN",
    "KVM_EXIT_SHUTDOWN",
    "KVM_EXIT_FAIL_ENTRY",
    "KVM_EXIT_INTR",
    "KVM_EXIT_SET_TPR",
    "KVM_EXIT_TPR_ACCESS",
    "KVM_EXIT_S390_SIEIC",
    "KVM_EXIT_S390_RESET",
    "KVM_EXIT_DCR",
    "KVM_EXIT_NMI",
    "KVM_EXIT_INTERNAL_ERROR",
    "KVM_EXIT_OSI",
    "KVM_EXIT_PAPR_HCALL",
    "KVM_EXIT_S390_UCONTROL",
    "KVM_EXIT_WATCHDOG",
    "KVM_EXIT_S390_TSCH",
    "KVM_EXIT_EPR",
    "KVM_EXIT_SYSTEM_EVENT",
    "KVM_EXIT_S390_STSI",
    "KVM_EXIT_IOAPIC_EOI",
    "KVM_EXIT_HYPERV",
    "KVM_EXIT_ARM_NISV",
    "KVM_EXIT_X86_RDMSR",
    "KVM_EXIT_X86_WRMSR",
    "KVM_EXIT_DIRTY_RING_FULL",
    "KVM_EXIT_AP_RESET_HOLD",
    "KVM_EXIT_X86_BUS_LOCK",
    "KVM_EXIT_XEN",
    "KVM_EXIT_RISCV_SBI",
    "KVM_EXIT_RISCV_CSR",
    "KVM_EXIT_NOTIFY",
  };

  /** The {@code KVM_INTERNAL_ERROR_*} suberror names, indexed by value (0 has none). */
  private static final String[] INTERNAL_ERROR_NAMES = {
    null,
    "KVM_INTERNAL_ERROR_EMULATION",
    "KVM_INTERNAL_ERROR_SIMUL_EX",
    "KVM_INTERNAL_ERROR_DELIVERY_EV",
    "KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON",
  };

  private Kvm() {}

  /** {@return the {@code KVM_EXIT_*} name of {@code reason}, or "exit reason N" if unknown} */
  public static String exitName(int reason) {
    return reason >= 0 && reason < EXIT_NAMES.length ? EXIT_NAMES[reason] : "exit reason " + reason;
  }

  /** {@return the {@code KVM_INTERNAL_ERROR_*} name of {@code suberror}, or "suberror N"} */
  public static String internalErrorName(int suberror) {
    return suberror > 0 && suberror < INTERNAL_ERROR_NAMES.length
        ? INTERNAL_ERROR_NAMES[suberror]
        : "suberror " + suberror;
  }

  /** {@return the number of exit names known, for the layout test} */
  static int exitNameCount() {
    return EXIT_NAMES.length;
  }
}
