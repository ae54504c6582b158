package dev.glint.sandbox.internal.layout;

/**
 * Where everything lies in guest memory (ABI §1), for one image and one set of sizes. Guest
 * addresses equal guest-physical addresses and offsets into the guest memory segment.
 *
 * @param memorySize the whole memory
 * @param imageEnd the page-aligned end of the image's highest segment
 * @param heapAddress the heap, 2 MiB-aligned after the image
 * @param heapSize its size
 * @param inputAddress the input buffer, after the heap
 * @param inputSize its size
 * @param outputAddress the output buffer, after the input buffer
 * @param outputSize its size
 * @param guardPageAddress the unmapped page below the stack
 * @param stackAddress the lowest stack address
 * @param stackSize the stack's size; the stack top is {@code memorySize}
 */
public record MemoryPlan(
    long memorySize,
    long imageEnd,
    long heapAddress,
    long heapSize,
    long inputAddress,
    long inputSize,
    long outputAddress,
    long outputSize,
    long guardPageAddress,
    long stackAddress,
    long stackSize) {

  /** Page 0, unmapped. */
  public static final long NULL_PAGE = 0;

  /** The system page: the GDT at its start. */
  public static final long GDT_ADDRESS = 0x1000;

  /** The TSS, in the system page. */
  public static final long TSS_ADDRESS = 0x1100;

  /** The IDT page. */
  public static final long IDT_ADDRESS = 0x2000;

  /** The fault-stub page. */
  public static final long FAULT_STUB_ADDRESS = 0x3000;

  /** The descriptor page, passed in RDI at entry. */
  public static final long DESCRIPTOR_ADDRESS = 0x4000;

  /** The fault stack (IST1 and RSP0): three pages. */
  public static final long FAULT_STACK_ADDRESS = 0x5000;

  /** The top of the fault stack. */
  public static final long FAULT_STACK_TOP = 0x8000;

  /** The page-table area: from here up to the image base. */
  public static final long PAGE_TABLE_ADDRESS = 0x8000;

  /** Where the image area starts. */
  public static final long IMAGE_BASE = 0x20_0000;

  /** The page size. */
  public static final long PAGE = 4096;

  /** Memory sizes are multiples of this (2 MiB). */
  public static final long MEMORY_GRANULE = 2L << 20;

  /**
   * Lays out memory for an image ending at {@code imageEnd}.
   *
   * @throws IllegalArgumentException if the heap, buffers, guard page and stack do not fit below
   *     {@code sizes.memorySize()}; the message gives the smallest memory size that fits
   */
  public static MemoryPlan of(LayoutSizes sizes, long imageEnd) {
    long heap = alignUp(imageEnd, MEMORY_GRANULE);
    long input = heap + sizes.heapSize();
    long output = input + sizes.inputSize();
    long outputEnd = output + sizes.outputSize();
    long needed = outputEnd + PAGE + sizes.stackSize();
    if (needed > sizes.memorySize()) {
      throw new IllegalArgumentException(
          ("memory size %d (0x%x) is too small for this guest: the image ends at 0x%x, and heap,"
                  + " input and output buffers, the stack guard page and the stack need memory up to"
                  + " 0x%x; use a memory size of at least %d")
              .formatted(
                  sizes.memorySize(),
                  sizes.memorySize(),
                  imageEnd,
                  needed,
                  alignUp(needed, MEMORY_GRANULE)));
    }
    long stack = sizes.memorySize() - sizes.stackSize();
    return new MemoryPlan(
        sizes.memorySize(),
        imageEnd,
        heap,
        sizes.heapSize(),
        input,
        sizes.inputSize(),
        output,
        sizes.outputSize(),
        stack - PAGE,
        stack,
        sizes.stackSize());
  }

  /** {@return the stack top: the end of memory} */
  public long stackTop() {
    return memorySize;
  }

  /** {@return the end of the output buffer; from there to the guard page nothing is mapped} */
  public long outputEnd() {
    return outputAddress + outputSize;
  }

  static long alignUp(long value, long alignment) {
    return (value + alignment - 1) & -alignment;
  }
}
