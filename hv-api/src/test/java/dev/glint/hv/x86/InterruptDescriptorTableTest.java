package dev.glint.hv.x86;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

class InterruptDescriptorTableTest {

  @Test
  void gateEncodingMatchesTheSdmLayout() {
    long[] gate = InterruptDescriptorTable.encodeInterruptGate(0x0000_0012_3456_789AL, 0x08, 3, 2);
    // offset[15:0]=0x789A, selector 0x0008, IST 2, type E + DPL 3 + P = 0xEE, offset[31:16]=0x3456
    assertArrayEquals(new long[] {0x3456_EE02_0008_789AL, 0x12L}, gate);
    long[] kernelGate = InterruptDescriptorTable.encodeInterruptGate(0xC000, 0x08, 0, 0);
    assertEquals(0x0000_8E00_0008_C000L, kernelGate[0]);
    assertEquals(0, kernelGate[1]);
  }

  @Test
  void tableWritesGatesAtSixteenBytesPerVector() {
    InterruptDescriptorTable idt =
        new InterruptDescriptorTable(32).setInterruptGate(X86.VECTOR_PF, 0xC0E0, 0, 1);
    assertEquals(32 * 16, idt.byteSize());
    assertEquals(32 * 16 - 1, idt.limit());
    assertEquals(idt.limit(), idt.register(0xA000).limit());
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment memory = arena.allocate(idt.byteSize());
      idt.write(memory, 0);
      long[] expected =
          InterruptDescriptorTable.encodeInterruptGate(0xC0E0, Gdt.KERNEL_CODE_SELECTOR, 0, 1);
      assertEquals(expected[0], memory.get(ValueLayout.JAVA_LONG, 14 * 16));
      assertEquals(expected[1], memory.get(ValueLayout.JAVA_LONG, 14 * 16 + 8));
      assertEquals(0, memory.get(ValueLayout.JAVA_LONG, 13 * 16), "no gate: not present");
      assertThrows(IllegalArgumentException.class, () -> idt.write(memory.asReadOnly(), 0));
    }
  }

  @Test
  void rejectsOutOfRangeValues() {
    var idt = new InterruptDescriptorTable(32);
    var vector =
        assertThrows(IllegalArgumentException.class, () -> idt.setInterruptGate(32, 0x1000, 0, 0));
    assertTrue(vector.getMessage().contains("0..31"), vector.getMessage());
    assertThrows(IllegalArgumentException.class, () -> idt.setInterruptGate(0, 0x1000, 4, 0));
    assertThrows(IllegalArgumentException.class, () -> idt.setInterruptGate(0, 0x1000, 0, 8));
    var canonical =
        assertThrows(
            IllegalArgumentException.class,
            () -> idt.setInterruptGate(0, 0x0000_8000_0000_0000L, 0, 0));
    assertTrue(canonical.getMessage().contains("canonical"), canonical.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new InterruptDescriptorTable(0));
    assertThrows(IllegalArgumentException.class, () -> new InterruptDescriptorTable(257));
  }
}
