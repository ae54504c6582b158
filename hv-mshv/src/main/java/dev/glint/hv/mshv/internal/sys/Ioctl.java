package dev.glint.hv.mshv.internal.sys;

/**
 * The ioctl request encoding of {@code /usr/include/asm-generic/ioctl.h} (x86-64): direction in
 * bits 30-31, payload size in bits 16-29, type in bits 8-15, number in bits 0-7.
 */
public final class Ioctl {
  /** The ioctl type of /dev/mshv, {@code MSHV_IOCTL} of {@code include/uapi/linux/mshv.h}. */
  public static final int MSHV_IOCTL = 0xB8;

  private static final long IOC_NONE = 0;
  private static final long IOC_WRITE = 1;
  private static final long IOC_READ = 2;

  private Ioctl() {}

  private static long ioc(long direction, int type, int number, long size) {
    if (size < 0 || size >= (1 << 14)) {
      throw new IllegalArgumentException("ioctl payload size " + size + " does not fit 14 bits");
    }
    return (direction << 30) | (size << 16) | ((long) type << 8) | number;
  }

  /** {@return {@code _IO(type, number)}: no payload} */
  public static long io(int type, int number) {
    return ioc(IOC_NONE, type, number, 0);
  }

  /** {@return {@code _IOR(type, number, size)}: the kernel writes the payload} */
  public static long ior(int type, int number, long size) {
    return ioc(IOC_READ, type, number, size);
  }

  /** {@return {@code _IOW(type, number, size)}: the kernel reads the payload} */
  public static long iow(int type, int number, long size) {
    return ioc(IOC_WRITE, type, number, size);
  }

  /** {@return {@code _IOWR(type, number, size)}: the payload goes both ways} */
  public static long iowr(int type, int number, long size) {
    return ioc(IOC_READ | IOC_WRITE, type, number, size);
  }
}
