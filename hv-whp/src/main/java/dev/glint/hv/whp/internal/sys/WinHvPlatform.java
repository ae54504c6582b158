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
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The functions of {@code WinHvPlatform.dll} the backend calls, as FFM downcalls; each returns the
 * {@code HRESULT}. Signatures from Microsoft's documentation of each function (see {@code
 * whp_abi.h} in the tests): handles are pointers, {@code UINT32}/{@code UINT64} are {@code int}/
 * {@code long}, and {@code HRESULT} is a 32-bit {@code LONG}. The native linker applies the
 * platform's calling convention: Windows x64 for the real library, SysV for the Linux test double.
 *
 * <p>The library is {@code WinHvPlatform.dll} from the Windows system directory, or the file the
 * system property {@value #LIBRARY_PROPERTY} names (the test double, or another implementation of
 * the same ABI). {@code WHvRunVirtualProcessor} blocks, so no downcall uses {@code
 * Linker.Option.critical}.
 *
 * <p>Thread-safe: the handles are immutable.
 */
public final class WinHvPlatform {
  /** The system property naming a library to load instead of {@code WinHvPlatform.dll}. */
  public static final String LIBRARY_PROPERTY = "glint.hv.whp.library";

  /** The library Windows ships with the "Windows Hypervisor Platform" optional feature. */
  public static final String WINDOWS_LIBRARY = "WinHvPlatform.dll";

  private final String source;
  private final MethodHandle getCapability;
  private final MethodHandle createPartition;
  private final MethodHandle setupPartition;
  private final MethodHandle deletePartition;
  private final MethodHandle setPartitionProperty;
  private final MethodHandle mapGpaRange;
  private final MethodHandle unmapGpaRange;
  private final MethodHandle queryGpaRangeDirtyBitmap;
  private final MethodHandle translateGva;
  private final MethodHandle createVirtualProcessor;
  private final MethodHandle deleteVirtualProcessor;
  private final MethodHandle runVirtualProcessor;
  private final MethodHandle cancelRunVirtualProcessor;
  private final MethodHandle getVirtualProcessorRegisters;
  private final MethodHandle setVirtualProcessorRegisters;

  /** Why the library cannot be used; the message says what to do. */
  public static final class LoadException extends Exception {
    private static final long serialVersionUID = 1L;

    LoadException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private WinHvPlatform(String source, SymbolLookup lookup) throws LoadException {
    this.source = source;
    Linker linker = Linker.nativeLinker();
    getCapability =
        find(linker, lookup, "WHvGetCapability", JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS);
    createPartition = find(linker, lookup, "WHvCreatePartition", JAVA_INT, ADDRESS);
    setupPartition = find(linker, lookup, "WHvSetupPartition", JAVA_INT, ADDRESS);
    deletePartition = find(linker, lookup, "WHvDeletePartition", JAVA_INT, ADDRESS);
    setPartitionProperty =
        find(
            linker,
            lookup,
            "WHvSetPartitionProperty",
            JAVA_INT,
            ADDRESS,
            JAVA_INT,
            ADDRESS,
            JAVA_INT);
    mapGpaRange =
        find(
            linker,
            lookup,
            "WHvMapGpaRange",
            JAVA_INT,
            ADDRESS,
            ADDRESS,
            JAVA_LONG,
            JAVA_LONG,
            JAVA_INT);
    unmapGpaRange =
        find(linker, lookup, "WHvUnmapGpaRange", JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG);
    queryGpaRangeDirtyBitmap =
        find(
            linker,
            lookup,
            "WHvQueryGpaRangeDirtyBitmap",
            JAVA_INT,
            ADDRESS,
            JAVA_LONG,
            JAVA_LONG,
            ADDRESS,
            JAVA_INT);
    translateGva =
        find(
            linker,
            lookup,
            "WHvTranslateGva",
            JAVA_INT,
            ADDRESS,
            JAVA_INT,
            JAVA_LONG,
            JAVA_INT,
            ADDRESS,
            ADDRESS);
    createVirtualProcessor =
        find(linker, lookup, "WHvCreateVirtualProcessor", JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT);
    deleteVirtualProcessor =
        find(linker, lookup, "WHvDeleteVirtualProcessor", JAVA_INT, ADDRESS, JAVA_INT);
    runVirtualProcessor =
        find(
            linker,
            lookup,
            "WHvRunVirtualProcessor",
            JAVA_INT,
            ADDRESS,
            JAVA_INT,
            ADDRESS,
            JAVA_INT);
    cancelRunVirtualProcessor =
        find(linker, lookup, "WHvCancelRunVirtualProcessor", JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT);
    getVirtualProcessorRegisters =
        find(
            linker,
            lookup,
            "WHvGetVirtualProcessorRegisters",
            JAVA_INT,
            ADDRESS,
            JAVA_INT,
            ADDRESS,
            JAVA_INT,
            ADDRESS);
    setVirtualProcessorRegisters =
        find(
            linker,
            lookup,
            "WHvSetVirtualProcessorRegisters",
            JAVA_INT,
            ADDRESS,
            JAVA_INT,
            ADDRESS,
            JAVA_INT,
            ADDRESS);
  }

  /**
   * Loads the library: the file {@code library} names, or {@value #WINDOWS_LIBRARY} when it is
   * null. Never throws anything but {@link LoadException}, whose message is the reason to report.
   */
  public static WinHvPlatform load(String library) throws LoadException {
    Module module = WinHvPlatform.class.getModule();
    if (!module.isNativeAccessEnabled()) {
      throw new LoadException(
          "native access is not enabled for "
              + (module.isNamed() ? module.getName() : "the class path")
              + "; run java with --enable-native-access="
              + (module.isNamed() ? module.getName() : "ALL-UNNAMED"),
          null);
    }
    SymbolLookup lookup;
    String source;
    try {
      if (library != null) {
        Path path = Path.of(library);
        if (!Files.isRegularFile(path)) {
          throw new LoadException(
              "-D%s=%s: no such file; build the WHP test double or remove the property"
                  .formatted(LIBRARY_PROPERTY, library),
              null);
        }
        lookup = libraryLookup(path);
        source = path.toAbsolutePath().toString();
      } else {
        lookup = libraryLookup(WINDOWS_LIBRARY);
        source = WINDOWS_LIBRARY;
      }
    } catch (IllegalArgumentException e) {
      throw new LoadException(
          library != null
              ? "cannot load -D%s=%s: %s".formatted(LIBRARY_PROPERTY, library, e.getMessage())
              : WINDOWS_LIBRARY
                  + " is not installed: enable the optional feature \"Windows Hypervisor Platform\""
                  + " (Enable-WindowsOptionalFeature -Online -FeatureName"
                  + " HypervisorPlatform) and restart",
          e);
    }
    return new WinHvPlatform(source, lookup);
  }

  @SuppressWarnings("restricted")
  private static SymbolLookup libraryLookup(Path path) {
    return SymbolLookup.libraryLookup(path, Arena.global());
  }

  @SuppressWarnings("restricted")
  private static SymbolLookup libraryLookup(String name) {
    return SymbolLookup.libraryLookup(name, Arena.global());
  }

  @SuppressWarnings("restricted")
  private MethodHandle find(
      Linker linker,
      SymbolLookup lookup,
      String name,
      java.lang.foreign.MemoryLayout result,
      java.lang.foreign.MemoryLayout... arguments)
      throws LoadException {
    MemorySegment symbol =
        lookup
            .find(name)
            .orElseThrow(
                () ->
                    new LoadException(
                        source
                            + " does not export "
                            + name
                            + "; it is not a Windows Hypervisor Platform library of a supported"
                            + " version (Windows 10 1809 or later)",
                        null));
    return linker.downcallHandle(symbol, FunctionDescriptor.of(result, arguments));
  }

  /** {@return where the functions come from: {@value #WINDOWS_LIBRARY} or the double's path} */
  public String source() {
    return source;
  }

  /** {@code WHvGetCapability(code, buffer, size, &written)}. */
  public int getCapability(int code, MemorySegment buffer, MemorySegment written) {
    try {
      return (int) getCapability.invokeExact(code, buffer, (int) buffer.byteSize(), written);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** {@code WHvCreatePartition(&handle)}: the handle is written into {@code handleOut}. */
  public int createPartition(MemorySegment handleOut) {
    try {
      return (int) createPartition.invokeExact(handleOut);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** {@code WHvSetupPartition(handle)}. */
  public int setupPartition(MemorySegment partition) {
    try {
      return (int) setupPartition.invokeExact(partition);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** {@code WHvDeletePartition(handle)}. */
  public int deletePartition(MemorySegment partition) {
    try {
      return (int) deletePartition.invokeExact(partition);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** {@code WHvSetPartitionProperty(handle, code, buffer, size)}. */
  public int setPartitionProperty(MemorySegment partition, int code, MemorySegment buffer) {
    try {
      return (int)
          setPartitionProperty.invokeExact(partition, code, buffer, (int) buffer.byteSize());
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** {@code WHvMapGpaRange(handle, source, gpa, size, flags)}. */
  public int mapGpaRange(
      MemorySegment partition, MemorySegment source, long gpa, long size, int flags) {
    try {
      return (int) mapGpaRange.invokeExact(partition, source, gpa, size, flags);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** {@code WHvUnmapGpaRange(handle, gpa, size)}. */
  public int unmapGpaRange(MemorySegment partition, long gpa, long size) {
    try {
      return (int) unmapGpaRange.invokeExact(partition, gpa, size);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** {@code WHvQueryGpaRangeDirtyBitmap(handle, gpa, size, bitmap, bitmapSize)}. */
  public int queryGpaRangeDirtyBitmap(
      MemorySegment partition, long gpa, long size, MemorySegment bitmap) {
    try {
      return (int)
          queryGpaRangeDirtyBitmap.invokeExact(
              partition, gpa, size, bitmap, (int) bitmap.byteSize());
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** {@code WHvTranslateGva(handle, vp, gva, flags, &result, &gpa)}. */
  public int translateGva(
      MemorySegment partition,
      int vp,
      long gva,
      int flags,
      MemorySegment result,
      MemorySegment gpa) {
    try {
      return (int) translateGva.invokeExact(partition, vp, gva, flags, result, gpa);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** {@code WHvCreateVirtualProcessor(handle, index, 0)}. */
  public int createVirtualProcessor(MemorySegment partition, int index) {
    try {
      return (int) createVirtualProcessor.invokeExact(partition, index, 0);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** {@code WHvDeleteVirtualProcessor(handle, index)}. */
  public int deleteVirtualProcessor(MemorySegment partition, int index) {
    try {
      return (int) deleteVirtualProcessor.invokeExact(partition, index);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** {@code WHvRunVirtualProcessor(handle, index, context, size)}: blocks until an exit. */
  public int runVirtualProcessor(MemorySegment partition, int index, MemorySegment context) {
    try {
      return (int)
          runVirtualProcessor.invokeExact(partition, index, context, (int) context.byteSize());
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** {@code WHvCancelRunVirtualProcessor(handle, index, 0)}: safe from any thread. */
  public int cancelRunVirtualProcessor(MemorySegment partition, int index) {
    try {
      return (int) cancelRunVirtualProcessor.invokeExact(partition, index, 0);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** {@code WHvGetVirtualProcessorRegisters(handle, index, names, count, values)}. */
  public int getRegisters(
      MemorySegment partition, int index, MemorySegment names, int count, MemorySegment values) {
    try {
      return (int) getVirtualProcessorRegisters.invokeExact(partition, index, names, count, values);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** {@code WHvSetVirtualProcessorRegisters(handle, index, names, count, values)}. */
  public int setRegisters(
      MemorySegment partition, int index, MemorySegment names, int count, MemorySegment values) {
    try {
      return (int) setVirtualProcessorRegisters.invokeExact(partition, index, names, count, values);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  private static RuntimeException rethrow(Throwable t) {
    if (t instanceof RuntimeException r) {
      return r;
    }
    if (t instanceof Error e) {
      throw e;
    }
    return new IllegalStateException("a WHv downcall threw " + t, t);
  }
}
