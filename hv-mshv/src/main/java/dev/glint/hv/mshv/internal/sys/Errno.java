package dev.glint.hv.mshv.internal.sys;

/**
 * Names of the errno values the mshv backend can meet, from {@code
 * /usr/include/asm-generic/errno-base.h} and {@code errno.h} (x86-64 Linux; checked by {@code
 * MshvLayoutTest}).
 */
public final class Errno {
  public static final int EPERM = 1;
  public static final int ENOENT = 2;
  public static final int ESRCH = 3;
  public static final int EINTR = 4;
  public static final int EIO = 5;
  public static final int ENXIO = 6;
  public static final int E2BIG = 7;
  public static final int EBADF = 9;
  public static final int EAGAIN = 11;
  public static final int ENOMEM = 12;
  public static final int EACCES = 13;
  public static final int EFAULT = 14;
  public static final int EBUSY = 16;
  public static final int EEXIST = 17;
  public static final int ENODEV = 19;
  public static final int EINVAL = 22;
  public static final int ENFILE = 23;
  public static final int EMFILE = 24;
  public static final int ENOTTY = 25;
  public static final int ENOSPC = 28;
  public static final int ERANGE = 34;
  public static final int ENOSYS = 38;
  public static final int EBADFD = 77;
  public static final int EOPNOTSUPP = 95;

  private static final String[] NAMES = new String[96];

  static {
    NAMES[EPERM] = "EPERM";
    NAMES[ENOENT] = "ENOENT";
    NAMES[ESRCH] = "ESRCH";
    NAMES[EINTR] = "EINTR";
    NAMES[EIO] = "EIO";
    NAMES[ENXIO] = "ENXIO";
    NAMES[E2BIG] = "E2BIG";
    NAMES[EBADF] = "EBADF";
    NAMES[EAGAIN] = "EAGAIN";
    NAMES[ENOMEM] = "ENOMEM";
    NAMES[EACCES] = "EACCES";
    NAMES[EFAULT] = "EFAULT";
    NAMES[EBUSY] = "EBUSY";
    NAMES[EEXIST] = "EEXIST";
    NAMES[ENODEV] = "ENODEV";
    NAMES[EINVAL] = "EINVAL";
    NAMES[ENFILE] = "ENFILE";
    NAMES[EMFILE] = "EMFILE";
    NAMES[ENOTTY] = "ENOTTY";
    NAMES[ENOSPC] = "ENOSPC";
    NAMES[ERANGE] = "ERANGE";
    NAMES[ENOSYS] = "ENOSYS";
    NAMES[EBADFD] = "EBADFD";
    NAMES[EOPNOTSUPP] = "EOPNOTSUPP";
  }

  private Errno() {}

  /** {@return the symbolic name of {@code errno}, or "errno N" when it is not in the table} */
  public static String name(int errno) {
    String name = errno > 0 && errno < NAMES.length ? NAMES[errno] : null;
    return name != null ? name : "errno " + errno;
  }
}
