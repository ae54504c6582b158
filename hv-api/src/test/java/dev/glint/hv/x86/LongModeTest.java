package dev.glint.hv.x86;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glint.hv.DescriptorTable;
import dev.glint.hv.SpecialRegisters;
import org.junit.jupiter.api.Test;

class LongModeTest {

  private final LongMode longMode =
      new LongMode(0x9000, new DescriptorTable(0xA000, 0x1FF), 0xB000, 0x67 + 129, 0x1000);

  @Test
  void controlRegistersHaveTheDocumentedBits() {
    assertEquals(0x8001_0033L, LongMode.CR0, "PG|WP|NE|ET|MP|PE");
    assertEquals(0x620L, LongMode.CR4, "OSXMMEXCPT|OSFXSR|PAE");
    assertEquals(0xD01L, LongMode.EFER, "NXE|LMA|LME|SCE");
  }

  @Test
  void kernelModeRunsAtCpl0OnTheKernelSegments() {
    SpecialRegisters sregs = longMode.kernelMode();
    assertEquals(0, sregs.cpl());
    assertEquals(Gdt.kernelCode(), sregs.cs());
    assertEquals(Gdt.kernelData(), sregs.ss());
    assertEquals(Gdt.kernelData(), sregs.ds());
    assertEquals(new DescriptorTable(0x9000, Gdt.LIMIT), sregs.gdt());
    assertEquals(new DescriptorTable(0xA000, 0x1FF), sregs.idt());
    assertEquals(Gdt.taskRegister(0xB000, 0x67 + 129), sregs.tr());
    assertEquals(0x1000, sregs.cr3());
    assertEquals(LongMode.CR0, sregs.cr0());
    assertEquals(LongMode.CR4, sregs.cr4());
    assertEquals(LongMode.EFER, sregs.efer());
    assertTrue(sregs.ldt().unusable());
  }

  @Test
  void userModeRunsAtCpl3WithUserStackAndData() {
    SpecialRegisters sregs = longMode.userMode();
    assertEquals(3, sregs.cpl());
    assertEquals(Gdt.USER_CODE_SELECTOR, sregs.cs().selector());
    assertEquals(Gdt.USER_DATA_SELECTOR, sregs.ss().selector());
    assertEquals(3, sregs.ss().dpl());
    assertEquals(Gdt.userData(), sregs.es());
    assertEquals(longMode.kernelMode().tr(), sregs.tr(), "same TSS: RSP0 for faults");
  }

  @Test
  void rejectsUnalignedCr3AndBadTssLimit() {
    var idt = new DescriptorTable(0, 0);
    var cr3 =
        assertThrows(IllegalArgumentException.class, () -> new LongMode(0, idt, 0, 0x67, 0x1234));
    assertTrue(cr3.getMessage().contains("page-aligned"), cr3.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new LongMode(0, idt, 0, 0x20, 0x1000));
  }

  @Test
  void realModeStartsAtTheChosenSegment() {
    SpecialRegisters sregs = RealMode.specialRegisters(0x0100);
    assertEquals(0x1000, sregs.cs().base());
    assertEquals(0x0100, sregs.cs().selector());
    assertEquals(0xFFFF, sregs.cs().limit());
    assertFalse(sregs.cs().longMode());
    assertEquals(0, sregs.cr0() & X86.CR0_PE, "protection off");
    assertEquals(0, sregs.efer());
    assertEquals(0, sregs.ds().base());
    assertThrows(IllegalArgumentException.class, () -> RealMode.specialRegisters(0x10000));
  }
}
