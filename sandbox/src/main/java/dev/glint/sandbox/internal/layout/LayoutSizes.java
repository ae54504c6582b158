package dev.glint.sandbox.internal.layout;

/**
 * The configurable sizes of the guest memory layout (ABI §1), in bytes. The builder validates each
 * against its range; {@link MemoryPlan#of} checks that they fit together.
 *
 * @param memorySize the whole guest memory, a multiple of 2 MiB
 * @param heapSize the heap, a multiple of 4 KiB
 * @param stackSize the stack, a multiple of 4 KiB
 * @param inputSize the input buffer, a multiple of 4 KiB
 * @param outputSize the output buffer, a multiple of 4 KiB
 */
public record LayoutSizes(
    long memorySize, long heapSize, long stackSize, long inputSize, long outputSize) {

  /** The ABI's default sizes: 8 MiB memory, 1 MiB heap, 256 KiB stack, 1 MiB + 64 KiB buffers. */
  public static LayoutSizes defaults() {
    return new LayoutSizes(
        8L << 20, 1L << 20, 256L << 10, (1L << 20) + (64L << 10), (1L << 20) + (64L << 10));
  }
}
