package dev.glint.sandbox.internal.image;

/**
 * One PT_LOAD segment of a checked guest image.
 *
 * @param index the program header's index, for messages
 * @param virtualAddress p_vaddr, a guest address inside the image area
 * @param memorySize p_memsz in bytes
 * @param fileOffset p_offset, inside the file
 * @param fileSize p_filesz in bytes, at most {@code memorySize}
 * @param readable PF_R
 * @param writable PF_W
 * @param executable PF_X (never together with {@code writable})
 */
public record LoadSegment(
    int index,
    long virtualAddress,
    long memorySize,
    long fileOffset,
    long fileSize,
    boolean readable,
    boolean writable,
    boolean executable) {

  /** {@return the first page-aligned address of the segment} */
  public long pageStart() {
    return virtualAddress & -ElfLoader.PAGE_SIZE;
  }

  /** {@return the page-aligned end of the segment (exclusive)} */
  public long pageEnd() {
    return (virtualAddress + memorySize + ElfLoader.PAGE_SIZE - 1) & -ElfLoader.PAGE_SIZE;
  }

  /** {@return whether {@code address} lies in {@code [p_vaddr, p_vaddr + p_memsz)}} */
  public boolean contains(long address) {
    return address >= virtualAddress && address - virtualAddress < memorySize;
  }
}
