package dev.glint.hv.x86;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

class TaskStateSegmentTest {

  @Test
  void headerFieldsSitAtTheSdmOffsets() {
    TaskStateSegment tss =
        TaskStateSegment.builder()
            .rsp0(0x1_2345_6780L)
            .interruptStack(1, 0xAAA0)
            .interruptStack(7, 0xBBB0)
            .build();
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment memory = arena.allocate(0x200);
      memory.fill((byte) 0x5A);
      tss.write(memory, 0x10);
      MemorySegment written = memory.asSlice(0x10);
      assertEquals(0, written.get(ValueLayout.JAVA_INT_UNALIGNED, 0), "reserved dword");
      assertEquals(0x1_2345_6780L, written.get(ValueLayout.JAVA_LONG_UNALIGNED, 4), "RSP0 @4");
      assertEquals(0, written.get(ValueLayout.JAVA_LONG_UNALIGNED, 12), "RSP1 @12");
      assertEquals(0xAAA0, written.get(ValueLayout.JAVA_LONG_UNALIGNED, 36), "IST1 @36");
      assertEquals(0xBBB0, written.get(ValueLayout.JAVA_LONG_UNALIGNED, 84), "IST7 @84");
      assertEquals(104, written.get(ValueLayout.JAVA_SHORT_UNALIGNED, 102), "I/O map base @102");
      assertEquals(0xFF, written.get(ValueLayout.JAVA_BYTE, 104) & 0xFF, "terminator");
      assertEquals(105, tss.byteSize(), "no ports: header plus the terminating byte");
      assertEquals(104, tss.limit());
      assertEquals(0x5A, memory.get(ValueLayout.JAVA_BYTE, 0x10 + 105), "nothing written after");
      assertEquals(0x5A, memory.get(ValueLayout.JAVA_BYTE, 0x0F), "nothing written before");
    }
  }

  @Test
  void bitmapClearsExactlyTheAllowedPortsAndEndsWithFf() {
    TaskStateSegment tss =
        TaskStateSegment.builder().allowPortRange(0x10, 4).allowPorts(0x3F8, 0x21).build();
    assertEquals(0x3F8 / 8 + 1, tss.bitmapByteSize(), "covers up to the highest allowed port");
    assertEquals(104 + 0x3F8 / 8 + 1 + 1, tss.byteSize());
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment memory = arena.allocate(tss.byteSize());
      tss.write(memory, 0);
      for (int port = 0; port < tss.bitmapByteSize() * 8; port++) {
        int bits = memory.get(ValueLayout.JAVA_BYTE, 104 + port / 8);
        boolean denied = (bits >> (port % 8) & 1) == 1;
        boolean allowed = (port >= 0x10 && port < 0x14) || port == 0x3F8 || port == 0x21;
        assertEquals(!allowed, denied, "port 0x%x".formatted(port));
        assertEquals(allowed, tss.allows(port));
      }
      assertEquals((byte) 0xFF, memory.get(ValueLayout.JAVA_BYTE, tss.byteSize() - 1));
    }
    assertFalse(tss.allows(0xFFFF));
  }

  @Test
  void rejectsBadPortsSlotsAndStacks() {
    var builder = TaskStateSegment.builder();
    var port = assertThrows(IllegalArgumentException.class, () -> builder.allowPorts(0x10000));
    assertTrue(port.getMessage().contains("0x10000"), port.getMessage());
    assertThrows(IllegalArgumentException.class, () -> builder.allowPortRange(0xFFFE, 4));
    assertThrows(IllegalArgumentException.class, () -> builder.allowPortRange(0x10, 0));
    var slot = assertThrows(IllegalArgumentException.class, () -> builder.interruptStack(8, 0));
    assertTrue(slot.getMessage().contains("1..7"), slot.getMessage());
    var stack = assertThrows(IllegalArgumentException.class, () -> builder.rsp0(0x1008));
    assertTrue(stack.getMessage().contains("16-byte aligned"), stack.getMessage());
  }

  @Test
  void refusesReadOnlyMemory() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment memory = arena.allocate(0x100).asReadOnly();
      TaskStateSegment tss = TaskStateSegment.builder().build();
      assertThrows(IllegalArgumentException.class, () -> tss.write(memory, 0));
    }
  }
}
