package dev.glint.hv.emulated.internal.cpu;

import dev.glint.hv.emulated.internal.fault.GuestFault;
import dev.glint.hv.emulated.internal.fault.InternalFailure;
import dev.glint.hv.emulated.internal.memory.Region;
import dev.glint.hv.emulated.internal.mmu.Mmu;
import dev.glint.x86.decoder.CpuMode;
import dev.glint.x86.decoder.DecodeException;
import dev.glint.x86.decoder.Decoder;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.Map;

/**
 * Decoded instructions, per guest-physical page: an instruction is decoded once and then found by
 * its page offset. A page's decoded code is dropped when the guest writes the page (the MMU reports
 * it), when the memory map changes, and when the host changed the page's bytes between runs (each
 * page keeps a copy of the bytes it was decoded from, compared at the start of every run).
 * Instructions that cross a page boundary are decoded every time. Confined to the vCPU's thread.
 */
final class CodeCache {
  private static final class Page {
    final long gpa;
    final Op[] ops = new Op[4096];
    final byte[] bytes = new byte[4096];
    CpuMode mode;

    Page(long gpa) {
      this.gpa = gpa;
    }
  }

  private final Cpu cpu;
  private final Mmu mmu;
  private final Map<Long, Page> pages = new HashMap<>();
  private final byte[] buffer = new byte[32];
  private long generation = -1;
  private long cursorPage = -1;
  private long cursorEpoch = -1;
  private CpuMode cursorMode;
  private Page cursor;

  CodeCache(Cpu cpu, Mmu mmu) {
    this.cpu = cpu;
    this.mmu = mmu;
  }

  /** {@return the instruction at linear address {@code linear}} */
  Op fetch(long linear) {
    long page = linear >>> 12;
    int offset = (int) linear & 0xFFF;
    Page p = cursor;
    if (page != cursorPage || p == null || cursorEpoch != mmu.epoch() || cursorMode != cpu.mode) {
      p = enter(linear);
    }
    Op op = p.ops[offset];
    if (op != null) {
      return op;
    }
    return decode(p, linear, offset);
  }

  private Page enter(long linear) {
    int slot = mmu.translateFetch(linear);
    MemorySegment host = mmu.slotHost(slot);
    long gpa = mmu.slotGpaPage(slot);
    if (host == null) {
      throw new InternalFailure(
          "instruction fetch at linear 0x%x from guest-physical 0x%x, which no memory backs"
              .formatted(linear, gpa));
    }
    Page p = pages.get(gpa);
    if (p == null) {
      p = new Page(gpa);
      MemorySegment.copy(host, ValueLayout.JAVA_BYTE, mmu.slotOffset(slot), p.bytes, 0, 4096);
      pages.put(gpa, p);
      mmu.watchCode(gpa);
    }
    if (p.mode != cpu.mode) {
      java.util.Arrays.fill(p.ops, null);
      p.mode = cpu.mode;
    }
    cursor = p;
    cursorPage = linear >>> 12;
    cursorEpoch = mmu.epoch();
    cursorMode = cpu.mode;
    return p;
  }

  private Op decode(Page p, long linear, int offset) {
    int inPage = Math.min(Decoder.MAX_LENGTH, 4096 - offset);
    System.arraycopy(p.bytes, offset, buffer, 0, inPage);
    try {
      Op op = new Op(Decoder.decode(buffer, 0, inPage, cpu.mode));
      p.ops[offset] = op;
      return op;
    } catch (DecodeException e) {
      if (e.reason() != DecodeException.Reason.TRUNCATED) {
        throw invalid(e);
      }
    }
    // The instruction goes on in the next page: fetch it (which may fault) and decode uncached.
    long next = (linear | 0xFFF) + 1;
    int count = inPage;
    for (; count < Decoder.MAX_LENGTH; count++) {
      buffer[count] = (byte) mmu.read(next + count - inPage, 1);
    }
    cursor = null;
    try {
      return new Op(Decoder.decode(buffer, 0, count, cpu.mode));
    } catch (DecodeException e) {
      throw invalid(e);
    }
  }

  private GuestFault invalid(DecodeException e) {
    return e.reason() == DecodeException.Reason.TOO_LONG
        ? cpu.fault.of(GuestFault.GP, 0)
        : cpu.fault.of(GuestFault.UD);
  }

  /** The guest wrote the physical page {@code gpa}: forget its decoded code. */
  void invalidate(long gpa) {
    Page p = pages.remove(gpa);
    mmu.unwatchCode(gpa);
    if (p != null && p == cursor) {
      cursor = null;
    }
  }

  /**
   * Drops pages whose bytes changed since they were decoded (host writes, resets) and everything
   * after a change of the memory map. Called at the start of every run.
   */
  void validate() {
    long current = mmu.physical().generation();
    if (current != generation) {
      generation = current;
      pages.clear();
      cursor = null;
      return;
    }
    var it = pages.values().iterator();
    while (it.hasNext()) {
      Page p = it.next();
      Region region = mmu.physical().find(p.gpa);
      if (region == null
          || MemorySegment.mismatch(
                  MemorySegment.ofArray(p.bytes),
                  0,
                  4096,
                  region.host(),
                  p.gpa - region.start(),
                  p.gpa - region.start() + 4096)
              != -1) {
        it.remove();
        mmu.unwatchCode(p.gpa);
        if (p == cursor) {
          cursor = null;
        }
      }
    }
  }
}
