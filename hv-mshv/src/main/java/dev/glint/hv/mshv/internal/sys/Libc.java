package dev.glint.hv.mshv.internal.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The glibc calls of the mshv backend ({@code open}, {@code ioctl}, {@code mmap}, signals), as FFM
 * downcalls. Constants come from glibc 2.36's {@code <fcntl.h>}, {@code <sys/mman.h>} and {@code
 * <signal.h>} on x86-64 and are checked by {@code MshvLayoutTest}.
 *
 * <p>Calls that can fail return the C result, or {@code -errno} when the C result says failure
 * (errno is captured with {@link Linker.Option#captureCallState}, so nothing the JVM does between
 * the call and the check can change it).
 *
 * <p>Class initialisation never throws: a symbol that cannot be found, or native access that is not
 * enabled, leaves the handles {@code null} and is reported by {@link #unavailableReason()}, which
 * the provider's probe turns into its reason.
 *
 * <p>Symbols are resolved in the library named by the system property {@value #LIBRARY_PROPERTY}
 * when it is set (a test double, because an {@code LD_PRELOAD}ed library does not intercept FFM
 * downcalls), then in the linker's default lookup (glibc).
 */
public final class Libc {
  /** The system property naming a library whose symbols take precedence over glibc's. */
  public static final String LIBRARY_PROPERTY = "glint.hv.mshv.libc";

  public static final int O_RDWR = 02;
  public static final int O_CLOEXEC = 02000000;
  public static final int PROT_READ = 0x1;
  public static final int PROT_WRITE = 0x2;
  public static final int PROT_EXEC = 0x4;
  public static final int MAP_SHARED = 0x01;
  public static final int MAP_PRIVATE = 0x02;
  public static final int MAP_ANONYMOUS = 0x20;
  public static final int MAP_NORESERVE = 0x4000;
  public static final int MADV_DONTNEED = 4;
  public static final int MFD_CLOEXEC = 0x0001;
  public static final int MFD_ALLOW_SEALING = 0x0002;
  public static final int F_ADD_SEALS = 1033;
  public static final int F_GET_SEALS = 1034;
  public static final int F_SEAL_SEAL = 0x0001;
  public static final int F_SEAL_SHRINK = 0x0002;
  public static final int F_SEAL_GROW = 0x0004;
  public static final int F_SEAL_WRITE = 0x0008;

  private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
  private static final VarHandle ERRNO =
      CAPTURE.varHandle(java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"));

  /** One errno capture buffer per thread, freed with the thread (automatic arena). */
  private static final ThreadLocal<MemorySegment> CAPTURE_BUFFER =
      ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CAPTURE));

  private static final MethodHandle MH$open;
  private static final MethodHandle MH$close;
  private static final MethodHandle MH$ioctl_ptr;
  private static final MethodHandle MH$ioctl_long;
  private static final MethodHandle MH$mmap;
  private static final MethodHandle MH$munmap;
  private static final MethodHandle MH$mprotect;
  private static final MethodHandle MH$sigaction;
  private static final MethodHandle MH$getpid;
  private static final MethodHandle MH$gettid;
  private static final MethodHandle MH$tgkill;
  private static final MethodHandle MH$memfd_create;
  private static final MethodHandle MH$ftruncate;
  private static final MethodHandle MH$fcntl;
  private static final MethodHandle MH$madvise;
  private static final String UNAVAILABLE_REASON;

  static {
    MethodHandle open = null, close = null, ioctlPtr = null, ioctlLong = null, mmap = null;
    MethodHandle munmap = null, mprotect = null, sigaction = null, getpid = null, gettid = null;
    MethodHandle tgkill = null, memfdCreate = null, ftruncate = null, fcntl = null;
    MethodHandle madvise = null;
    String reason = null;
    Module module = Libc.class.getModule();
    if (!module.isNativeAccessEnabled()) {
      reason = nativeAccessReason(module);
    } else {
      try {
        Linker linker = Linker.nativeLinker();
        SymbolLookup lookup = lookup(linker);
        Linker.Option errno = Linker.Option.captureCallState("errno");
        Linker.Option variadic = Linker.Option.firstVariadicArg(2);
        open =
            downcall(
                linker,
                lookup,
                "open",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT),
                errno,
                variadic);
        close = downcall(linker, lookup, "close", FunctionDescriptor.of(JAVA_INT, JAVA_INT), errno);
        // ioctl(int fd, unsigned long request, ...): one handle per argument kind.
        ioctlPtr =
            downcall(
                linker,
                lookup,
                "ioctl",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS),
                errno,
                variadic);
        ioctlLong =
            downcall(
                linker,
                lookup,
                "ioctl",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG),
                errno,
                variadic);
        mmap =
            downcall(
                linker,
                lookup,
                "mmap",
                FunctionDescriptor.of(
                    ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG),
                errno);
        munmap =
            downcall(
                linker,
                lookup,
                "munmap",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG),
                errno);
        mprotect =
            downcall(
                linker,
                lookup,
                "mprotect",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT),
                errno);
        sigaction =
            downcall(
                linker,
                lookup,
                "sigaction",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS),
                errno);
        getpid = downcall(linker, lookup, "getpid", FunctionDescriptor.of(JAVA_INT));
        gettid = downcall(linker, lookup, "gettid", FunctionDescriptor.of(JAVA_INT));
        tgkill =
            downcall(
                linker,
                lookup,
                "tgkill",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT),
                errno);
        memfdCreate =
            downcall(
                linker,
                lookup,
                "memfd_create",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT),
                errno);
        ftruncate =
            downcall(
                linker,
                lookup,
                "ftruncate",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG),
                errno);
        // fcntl(int fd, int cmd, ...): the seals are an int.
        fcntl =
            downcall(
                linker,
                lookup,
                "fcntl",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT),
                errno,
                variadic);
        madvise =
            downcall(
                linker,
                lookup,
                "madvise",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT),
                errno);
      } catch (IllegalCallerException e) {
        reason = nativeAccessReason(module);
      } catch (RuntimeException e) {
        // A missing symbol (UnsupportedOperationException), a bad library path, or anything else:
        // never fail class initialisation, report it through the probe instead.
        reason = "cannot bind glibc: " + e.getMessage();
      }
    }
    if (reason != null) {
      open = close = ioctlPtr = ioctlLong = mmap = munmap = mprotect = sigaction = null;
      getpid = gettid = tgkill = memfdCreate = ftruncate = fcntl = madvise = null;
    }
    MH$open = open;
    MH$close = close;
    MH$ioctl_ptr = ioctlPtr;
    MH$ioctl_long = ioctlLong;
    MH$mmap = mmap;
    MH$munmap = munmap;
    MH$mprotect = mprotect;
    MH$sigaction = sigaction;
    MH$getpid = getpid;
    MH$gettid = gettid;
    MH$tgkill = tgkill;
    MH$memfd_create = memfdCreate;
    MH$ftruncate = ftruncate;
    MH$fcntl = fcntl;
    MH$madvise = madvise;
    UNAVAILABLE_REASON = reason;
  }

  private Libc() {}

  private static String nativeAccessReason(Module module) {
    String target = module.isNamed() ? module.getName() : "ALL-UNNAMED";
    return "native access is not enabled for "
        + (module.isNamed() ? "module " + module.getName() : "the class path")
        + ": run java with --enable-native-access="
        + target
        + (module.isNamed()
            ? ""
            : " (or --enable-native-access=dev.glint.hv.mshv on the module path)");
  }

  private static SymbolLookup lookup(Linker linker) {
    String library = System.getProperty(LIBRARY_PROPERTY, "").strip();
    SymbolLookup standard = linker.defaultLookup();
    if (library.isEmpty()) {
      return standard;
    }
    try {
      return SymbolLookup.libraryLookup(Path.of(library), Arena.global()).or(standard);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "cannot load -D%s=%s: %s".formatted(LIBRARY_PROPERTY, library, e.getMessage()), e);
    }
  }

  /** The one lookup helper: finds a symbol and binds it (restricted). */
  @SuppressWarnings("restricted")
  private static MethodHandle downcall(
      Linker linker,
      SymbolLookup lookup,
      String name,
      FunctionDescriptor descriptor,
      Linker.Option... options) {
    MemorySegment symbol =
        lookup
            .find(name)
            .orElseThrow(
                () ->
                    new UnsupportedOperationException(
                        "glibc symbol '%s' not found; the mshv backend needs glibc 2.30 or newer"
                                .formatted(name)
                            + " (or a -D%s library that provides it)".formatted(LIBRARY_PROPERTY)));
    return linker.downcallHandle(symbol, descriptor, options);
  }

  /**
   * Views {@code size} bytes at a native address as a segment (restricted {@code reinterpret}).
   * Callers in this package pass addresses the kernel gave them with the size they asked for.
   */
  static MemorySegment view(long address, long size) {
    return MemorySegment.ofAddress(address).reinterpret(size);
  }

  /**
   * Views an anonymous mapping made by {@link #mmap} as a segment that lives as long as {@code
   * arena}: closing the arena unmaps the memory and makes the segment inaccessible, so a stale
   * segment can never touch unmapped memory.
   *
   * @param address what {@link #mmap} returned (not an error)
   * @param size the size given to {@link #mmap}
   */
  public static MemorySegment mappedView(long address, long size, Arena arena) {
    return MemorySegment.ofAddress(address)
        .reinterpret(size, arena, segment -> munmap(segment.address(), size));
  }

  /** {@return why glibc cannot be called, with the fix; empty when it can} */
  public static Optional<String> unavailableReason() {
    return Optional.ofNullable(UNAVAILABLE_REASON);
  }

  private static MethodHandle need(MethodHandle handle) {
    if (handle == null) {
      throw new IllegalStateException(UNAVAILABLE_REASON);
    }
    return handle;
  }

  private static int result(int value, MemorySegment capture) {
    return value == -1 ? -(int) ERRNO.get(capture, 0L) : value;
  }

  private static AssertionError unexpected(Throwable t) {
    return new AssertionError("unexpected failure of a downcall", t);
  }

  /** {@code open(path, flags)}: {@return the fd or -errno} */
  public static int open(String path, int flags) {
    MethodHandle mh = need(MH$open);
    MemorySegment capture = CAPTURE_BUFFER.get();
    try (Arena arena = Arena.ofConfined()) {
      return result((int) mh.invokeExact(capture, arena.allocateFrom(path), flags, 0), capture);
    } catch (Error | RuntimeException e) {
      throw e;
    } catch (Throwable t) {
      throw unexpected(t);
    }
  }

  /** {@code close(fd)}: {@return 0 or -errno} */
  public static int close(int fd) {
    MethodHandle mh = need(MH$close);
    MemorySegment capture = CAPTURE_BUFFER.get();
    try {
      return result((int) mh.invokeExact(capture, fd), capture);
    } catch (Error | RuntimeException e) {
      throw e;
    } catch (Throwable t) {
      throw unexpected(t);
    }
  }

  /** {@code ioctl(fd, request, arg)} with a pointer argument: {@return the result or -errno} */
  public static int ioctl(int fd, long request, MemorySegment arg) {
    MethodHandle mh = need(MH$ioctl_ptr);
    MemorySegment capture = CAPTURE_BUFFER.get();
    try {
      return result((int) mh.invokeExact(capture, fd, request, arg), capture);
    } catch (Error | RuntimeException e) {
      throw e;
    } catch (Throwable t) {
      throw unexpected(t);
    }
  }

  /** {@code ioctl(fd, request, arg)} with an integer argument: {@return the result or -errno} */
  public static int ioctl(int fd, long request, long arg) {
    MethodHandle mh = need(MH$ioctl_long);
    MemorySegment capture = CAPTURE_BUFFER.get();
    try {
      return result((int) mh.invokeExact(capture, fd, request, arg), capture);
    } catch (Error | RuntimeException e) {
      throw e;
    } catch (Throwable t) {
      throw unexpected(t);
    }
  }

  /** {@code mmap(NULL, size, prot, flags, fd, 0)}: {@return the address, or -errno} */
  public static long mmap(long size, int prot, int flags, int fd) {
    return mmap(size, prot, flags, fd, 0L);
  }

  /**
   * {@code mmap(NULL, size, prot, flags, fd, offset)}: {@return the address, or -errno} The offset
   * must be a multiple of the page size (a vCPU fd's dirty ring lies at a page offset).
   */
  public static long mmap(long size, int prot, int flags, int fd, long offset) {
    MethodHandle mh = need(MH$mmap);
    MemorySegment capture = CAPTURE_BUFFER.get();
    try {
      MemorySegment address =
          (MemorySegment)
              mh.invokeExact(capture, MemorySegment.NULL, size, prot, flags, fd, offset);
      // MAP_FAILED is (void *) -1.
      return address.address() == -1L ? -(int) ERRNO.get(capture, 0L) : address.address();
    } catch (Error | RuntimeException e) {
      throw e;
    } catch (Throwable t) {
      throw unexpected(t);
    }
  }

  /** {@code munmap(address, size)}: {@return 0 or -errno} */
  public static int munmap(long address, long size) {
    MethodHandle mh = need(MH$munmap);
    MemorySegment capture = CAPTURE_BUFFER.get();
    try {
      return result((int) mh.invokeExact(capture, MemorySegment.ofAddress(address), size), capture);
    } catch (Error | RuntimeException e) {
      throw e;
    } catch (Throwable t) {
      throw unexpected(t);
    }
  }

  /** {@code mprotect(address, size, prot)}: {@return 0 or -errno} */
  public static int mprotect(long address, long size, int prot) {
    MethodHandle mh = need(MH$mprotect);
    MemorySegment capture = CAPTURE_BUFFER.get();
    try {
      return result(
          (int) mh.invokeExact(capture, MemorySegment.ofAddress(address), size, prot), capture);
    } catch (Error | RuntimeException e) {
      throw e;
    } catch (Throwable t) {
      throw unexpected(t);
    }
  }

  /** {@code sigaction(signal, act, oldact)}: {@return 0 or -errno} */
  static int sigaction(int signal, MemorySegment act, MemorySegment oldAct) {
    MethodHandle mh = need(MH$sigaction);
    MemorySegment capture = CAPTURE_BUFFER.get();
    try {
      return result((int) mh.invokeExact(capture, signal, act, oldAct), capture);
    } catch (Error | RuntimeException e) {
      throw e;
    } catch (Throwable t) {
      throw unexpected(t);
    }
  }

  /** {@return {@code getpid()}} */
  public static int getpid() {
    try {
      return (int) need(MH$getpid).invokeExact();
    } catch (Error | RuntimeException e) {
      throw e;
    } catch (Throwable t) {
      throw unexpected(t);
    }
  }

  /** The kernel thread id of each platform thread, read once: a platform thread keeps its tid. */
  private static final ThreadLocal<int[]> PLATFORM_TID = ThreadLocal.withInitial(() -> new int[1]);

  /**
   * {@return the kernel id of the calling thread's OS thread} Cached per platform thread (saving a
   * system call on every {@code MSHV_RUN_VP}); asked afresh on a virtual thread, whose carrier, and
   * so its tid, can change between calls.
   */
  public static int currentTid() {
    if (Thread.currentThread().isVirtual()) {
      return gettid();
    }
    int[] cached = PLATFORM_TID.get();
    if (cached[0] == 0) {
      cached[0] = gettid();
    }
    return cached[0];
  }

  /** {@return {@code gettid()}: the kernel id of the calling thread} */
  public static int gettid() {
    try {
      return (int) need(MH$gettid).invokeExact();
    } catch (Error | RuntimeException e) {
      throw e;
    } catch (Throwable t) {
      throw unexpected(t);
    }
  }

  /** {@code tgkill(pid, tid, signal)}: {@return 0 or -errno} */
  public static int tgkill(int pid, int tid, int signal) {
    MethodHandle mh = need(MH$tgkill);
    MemorySegment capture = CAPTURE_BUFFER.get();
    try {
      return result((int) mh.invokeExact(capture, pid, tid, signal), capture);
    } catch (Error | RuntimeException e) {
      throw e;
    } catch (Throwable t) {
      throw unexpected(t);
    }
  }

  /** {@code memfd_create(name, flags)}: {@return the fd or -errno} */
  public static int memfdCreate(String name, int flags) {
    MethodHandle mh = need(MH$memfd_create);
    MemorySegment capture = CAPTURE_BUFFER.get();
    try (Arena arena = Arena.ofConfined()) {
      return result((int) mh.invokeExact(capture, arena.allocateFrom(name), flags), capture);
    } catch (Error | RuntimeException e) {
      throw e;
    } catch (Throwable t) {
      throw unexpected(t);
    }
  }

  /** {@code ftruncate(fd, length)}: {@return 0 or -errno} */
  public static int ftruncate(int fd, long length) {
    MethodHandle mh = need(MH$ftruncate);
    MemorySegment capture = CAPTURE_BUFFER.get();
    try {
      return result((int) mh.invokeExact(capture, fd, length), capture);
    } catch (Error | RuntimeException e) {
      throw e;
    } catch (Throwable t) {
      throw unexpected(t);
    }
  }

  /** {@code fcntl(fd, command, arg)} with an int argument: {@return the result or -errno} */
  public static int fcntl(int fd, int command, int arg) {
    MethodHandle mh = need(MH$fcntl);
    MemorySegment capture = CAPTURE_BUFFER.get();
    try {
      return result((int) mh.invokeExact(capture, fd, command, arg), capture);
    } catch (Error | RuntimeException e) {
      throw e;
    } catch (Throwable t) {
      throw unexpected(t);
    }
  }

  /** {@code madvise(address, size, advice)}: {@return 0 or -errno} */
  public static int madvise(long address, long size, int advice) {
    MethodHandle mh = need(MH$madvise);
    MemorySegment capture = CAPTURE_BUFFER.get();
    try {
      return result(
          (int) mh.invokeExact(capture, MemorySegment.ofAddress(address), size, advice), capture);
    } catch (Error | RuntimeException e) {
      throw e;
    } catch (Throwable t) {
      throw unexpected(t);
    }
  }

  /**
   * {@code mmap(NULL, size, prot, flags, fd, 0)} of a file, viewed as a segment that lives as long
   * as {@code arena} (closing it unmaps). {@return the segment, or {@code null} with the errno in
   * {@code errno[0]}}
   */
  public static MemorySegment mapFile(
      long size, int prot, int flags, int fd, Arena arena, int[] errno) {
    long address = mmap(size, prot, flags, fd);
    if (address < 0) {
      errno[0] = (int) -address;
      return null;
    }
    try {
      return mappedView(address, size, arena);
    } catch (RuntimeException | Error e) {
      munmap(address, size);
      throw e;
    }
  }
}
