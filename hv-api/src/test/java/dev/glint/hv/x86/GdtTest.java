package dev.glint.hv.x86;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glint.hv.Segment;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

class GdtTest {

  @Test
  void codeAndDataDescriptorsMatchTheSdmEncodings() {
    // The values every long-mode kernel uses (Linux's GDT_ENTRY_INIT(0xa09b/0xc093, 0, 0xfffff)
    // with the accessed bit; the user ones with DPL 3).
    assertEquals(0x00AF9B000000FFFFL, Gdt.KERNEL_CODE_DESCRIPTOR);
    assertEquals(0x00CF93000000FFFFL, Gdt.KERNEL_DATA_DESCRIPTOR);
    assertEquals(0x00AFFB000000FFFFL, Gdt.USER_CODE_DESCRIPTOR);
    assertEquals(0x00CFF3000000FFFFL, Gdt.USER_DATA_DESCRIPTOR);
  }

  @Test
  void selectorsIndexTheirDescriptorsWithTheRightRpl() {
    long[] table = Gdt.descriptors(0x5000, 0x67);
    assertEquals(0, table[0], "slot 0 is the null descriptor");
    assertEquals(Gdt.KERNEL_CODE_DESCRIPTOR, table[Gdt.KERNEL_CODE_SELECTOR >> 3]);
    assertEquals(Gdt.KERNEL_DATA_DESCRIPTOR, table[Gdt.KERNEL_DATA_SELECTOR >> 3]);
    assertEquals(Gdt.USER_DATA_DESCRIPTOR, table[Gdt.USER_DATA_SELECTOR >> 3]);
    assertEquals(Gdt.USER_CODE_DESCRIPTOR, table[Gdt.USER_CODE_SELECTOR >> 3]);
    assertEquals(0, Gdt.KERNEL_CODE_SELECTOR & 3);
    assertEquals(3, Gdt.USER_CODE_SELECTOR & 3);
    assertEquals(3, Gdt.USER_DATA_SELECTOR & 3);
    assertEquals(7 * 8 - 1, Gdt.LIMIT);
  }

  @Test
  void starFollowsSyscallAndSysretSelectorArithmetic() {
    long kernelBase = Gdt.STAR >>> 32 & 0xFFFF;
    long userBase = Gdt.STAR >>> 48 & 0xFFFF;
    assertEquals(Gdt.KERNEL_CODE_SELECTOR, kernelBase, "syscall CS = STAR[47:32]");
    assertEquals(Gdt.KERNEL_DATA_SELECTOR, kernelBase + 8, "syscall SS = STAR[47:32] + 8");
    assertEquals(Gdt.USER_DATA_SELECTOR, (userBase + 8) | 3, "sysret SS = STAR[63:48] + 8");
    assertEquals(Gdt.USER_CODE_SELECTOR, (userBase + 16) | 3, "sysret CS = STAR[63:48] + 16");
  }

  @Test
  void tssDescriptorSplitsBaseAndLimitAsTheSdmSays() {
    long[] descriptor = Gdt.tssDescriptor(0x0000_1234_5678_9ABCL, 0x12345, Gdt.TSS_TYPE_BUSY);
    // limit[15:0]=0x2345, base[23:0]=0x789ABC, type B + P = 0x8B, limit[19:16]=1, base[31:24]=0x56
    assertEquals(0x56018B789ABC2345L, descriptor[0]);
    assertEquals(0x1234L, descriptor[1], "base[63:32] in the second quadword");
    long[] available = Gdt.tssDescriptor(0x1000, 0x67, Gdt.TSS_TYPE_AVAILABLE);
    assertEquals(0x0000_8900_1000_0067L, available[0]);
  }

  @Test
  void tssDescriptorRejectsBadLimitsAndTypes() {
    var tooSmall =
        assertThrows(
            IllegalArgumentException.class, () -> Gdt.tssDescriptor(0, 0x10, Gdt.TSS_TYPE_BUSY));
    assertTrue(tooSmall.getMessage().contains("at least 0x67"), tooSmall.getMessage());
    assertThrows(
        IllegalArgumentException.class, () -> Gdt.tssDescriptor(0, 0x100000, Gdt.TSS_TYPE_BUSY));
    var badType = assertThrows(IllegalArgumentException.class, () -> Gdt.tssDescriptor(0, 0x67, 3));
    assertTrue(badType.getMessage().contains("available"), badType.getMessage());
  }

  @Test
  void segmentRecordsAgreeWithTheDescriptorsTheyStandFor() {
    assertSegmentMatches(Gdt.KERNEL_CODE_DESCRIPTOR, Gdt.kernelCode());
    assertSegmentMatches(Gdt.KERNEL_DATA_DESCRIPTOR, Gdt.kernelData());
    assertSegmentMatches(Gdt.USER_CODE_DESCRIPTOR, Gdt.userCode());
    assertSegmentMatches(Gdt.USER_DATA_DESCRIPTOR, Gdt.userData());
    assertEquals(Gdt.KERNEL_CODE_SELECTOR, Gdt.kernelCode().selector());
    assertEquals(Gdt.USER_CODE_SELECTOR, Gdt.userCode().selector());
    assertEquals(3, Gdt.userCode().rpl());
    assertTrue(Gdt.userCode().longMode());

    Segment tr = Gdt.taskRegister(0x7000, 0x80);
    assertEquals(0x7000, tr.base());
    assertEquals(0x80, tr.limit());
    assertEquals(Gdt.TSS_SELECTOR, tr.selector());
    assertEquals(Gdt.TSS_TYPE_BUSY, tr.type());
    assertTrue(tr.system() && tr.present());
  }

  @Test
  void writePutsTheQuadwordsAtTheOffset() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment memory = arena.allocate(0x100);
      Gdt.write(memory, 0x40, 0x9000, 0x67);
      long[] expected = Gdt.descriptors(0x9000, 0x67);
      long[] actual = new long[expected.length];
      for (int i = 0; i < actual.length; i++) {
        actual[i] = memory.get(ValueLayout.JAVA_LONG_UNALIGNED, 0x40 + 8L * i);
      }
      assertArrayEquals(expected, actual);
      assertEquals(0, memory.get(ValueLayout.JAVA_LONG, 0x38), "nothing before the offset");
      assertEquals(0x9000, Gdt.register(0x9000).base());
      assertThrows(
          IllegalArgumentException.class, () -> Gdt.write(memory.asReadOnly(), 0, 0x9000, 0x67));
      assertThrows(IndexOutOfBoundsException.class, () -> Gdt.write(memory, 0xD0, 0x9000, 0x67));
    }
  }

  /** Decodes the fields the CPU caches from a code or data descriptor. */
  private static void assertSegmentMatches(long descriptor, Segment segment) {
    long limit = (descriptor & 0xFFFF) | (descriptor >>> 48 & 0xF) << 16;
    boolean granularity = (descriptor >>> 55 & 1) == 1;
    assertEquals(granularity ? limit << 12 | 0xFFF : limit, segment.limit(), "limit");
    assertEquals(descriptor >>> 40 & 0xF, segment.type(), "type");
    assertEquals((descriptor >>> 44 & 1) == 0, segment.system(), "S");
    assertEquals(descriptor >>> 45 & 3, segment.dpl(), "DPL");
    assertEquals((descriptor >>> 47 & 1) == 1, segment.present(), "P");
    assertEquals((descriptor >>> 53 & 1) == 1, segment.longMode(), "L");
    assertEquals((descriptor >>> 54 & 1) == 1, segment.defaultSize(), "D/B");
    assertEquals(granularity, segment.granularity(), "G");
    assertEquals(segment.dpl(), segment.rpl(), "selector RPL equals DPL");
  }
}
