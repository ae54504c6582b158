package dev.glint.hv.whp.internal.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * Page-aligned, zeroed, lazily committed host memory for guest RAM: {@code VirtualAlloc(MEM_RESERVE
 * | MEM_COMMIT, PAGE_READWRITE)} / {@code VirtualFree(MEM_RELEASE)} from {@code kernel32.dll} on
 * Windows (constants from {@code winnt.h}: MEM_COMMIT 0x1000, MEM_RESERVE 0x2000, MEM_RELEASE
 * 0x8000, PAGE_READWRITE 0x04), and {@code mmap(MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)} /
 * {@code munmap} from the C library elsewhere (where the WHP backend only ever runs over a test
 * double). Both give zero pages that cost nothing until touched.
 *
 * <p>Thread-safe. Class initialisation never throws: a platform without either API makes {@link
 * #allocate} fail with the reason.
 */
public final class HostMemory {
  public static final int MEM_COMMIT = 0x1000;
  public static final int MEM_RESERVE = 0x2000;
  public static final int MEM_RELEASE = 0x8000;
  public static final int PAGE_READWRITE = 0x04;
  public static final int PROT_READ = 0x1;
  public static final int PROT_WRITE = 0x2;
  public static final int MAP_PRIVATE = 0x02;
  public static final int MAP_ANONYMOUS = 0x20;
  public static final int MAP_NORESERVE = 0x4000;

  private static final boolean WINDOWS =
      System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).startsWith("windows");
  private static final MethodHandle ALLOCATE;
  private static final MethodHandle FREE;
  private static final String UNAVAILABLE;

  static {
    MethodHandle allocate = null;
    MethodHandle free = null;
    String unavailable = null;
    try {
      Linker linker = Linker.nativeLinker();
      if (WINDOWS) {
        SymbolLookup kernel32 = kernel32();
        allocate =
            linker.downcallHandle(
                kernel32.find("VirtualAlloc").orElseThrow(),
                FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT));
        free =
            linker.downcallHandle(
                kernel32.find("VirtualFree").orElseThrow(),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
      } else {
        SymbolLookup libc = linker.defaultLookup();
        allocate =
            linker.downcallHandle(
                libc.find("mmap").orElseThrow(),
                FunctionDescriptor.of(
                    ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
        free =
            linker.downcallHandle(
                libc.find("munmap").orElseThrow(),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
      }
    } catch (RuntimeException e) {
      unavailable = "host memory allocation is unavailable: " + e;
    }
    ALLOCATE = allocate;
    FREE = free;
    UNAVAILABLE = unavailable;
  }

  private HostMemory() {}

  @SuppressWarnings("restricted")
  private static SymbolLookup kernel32() {
    return SymbolLookup.libraryLookup("kernel32.dll", Arena.global());
  }

  /**
   * {@return {@code byteSize} bytes of zeroed memory at a page-aligned address, or {@code null} if
   * the operating system refuses} The caller frees it with {@link #free}.
   *
   * @throws IllegalStateException if this platform has neither API
   */
  @SuppressWarnings("restricted")
  public static MemorySegment allocate(long byteSize) {
    if (ALLOCATE == null) {
      throw new IllegalStateException(UNAVAILABLE);
    }
    try {
      MemorySegment address;
      if (WINDOWS) {
        address =
            (MemorySegment)
                ALLOCATE.invokeExact(
                    MemorySegment.NULL, byteSize, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
        if (address.address() == 0) {
          return null;
        }
      } else {
        address =
            (MemorySegment)
                ALLOCATE.invokeExact(
                    MemorySegment.NULL,
                    byteSize,
                    PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                    -1,
                    0L);
        if (address.address() == -1L) {
          return null;
        }
      }
      return address.reinterpret(byteSize);
    } catch (RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException(t);
    }
  }

  /** Frees what {@link #allocate} returned; {@return whether the operating system agreed} */
  public static boolean free(MemorySegment memory) {
    try {
      if (WINDOWS) {
        return (int) FREE.invokeExact(memory, 0L, MEM_RELEASE) != 0;
      }
      return (int) FREE.invokeExact(memory, memory.byteSize()) == 0;
    } catch (RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException(t);
    }
  }

  /** {@return a view of {@code memory} that {@code arena} owns: closing it frees the memory} */
  @SuppressWarnings("restricted")
  public static MemorySegment owned(MemorySegment memory, Arena arena) {
    return memory.reinterpret(arena, HostMemory::free);
  }
}
