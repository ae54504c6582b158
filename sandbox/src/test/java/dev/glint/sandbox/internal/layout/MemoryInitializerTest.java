package dev.glint.sandbox.internal.layout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glint.hv.SpecialRegisters;
import dev.glint.hv.x86.Gdt;
import dev.glint.hv.x86.LongMode;
import dev.glint.hv.x86.TaskStateSegment;
import dev.glint.hv.x86.X86;
import dev.glint.sandbox.internal.image.ElfLoader;
import dev.glint.sandbox.internal.image.GuestImage;
import dev.glint.sandbox.internal.image.LoadSegment;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Checks the memory an initialized guest gets against ABI §1, §2, §4 and §6. */
class MemoryInitializerTest {
  private static final long MIB = 1 << 20;

  private final GuestImage image =
      new GuestImage(
          0x200000,
          List.of(
              new LoadSegment(0, 0x200000, 0x1800, 0, 0x10, true, false, true),
              new LoadSegment(1, 0x202000, 0x3000, 0x10, 0x10, true, true, false)),
          new byte[0x20]);
  private Arena arena;
  private MemorySegment memory;
  private MemoryPlan plan;
  private LongMode longMode;

  @BeforeEach
  void initialize() {
    arena = Arena.ofConfined();
    plan = MemoryPlan.of(LayoutSizes.defaults(), image.end());
    memory = arena.allocate(plan.memorySize(), 4096);
    longMode = MemoryInitializer.initialize(memory, plan, image, 3);
  }

  @AfterEach
  void free() {
    arena.close();
  }

  @Test
  void defaultPlanFollowsTheAbiTable() {
    assertEquals(8 * MIB, plan.memorySize());
    assertEquals(0x205000, plan.imageEnd());
    assertEquals(4 * MIB, plan.heapAddress());
    assertEquals(5 * MIB, plan.inputAddress());
    assertEquals(5 * MIB + MIB + 64 * 1024, plan.outputAddress());
    assertEquals(8 * MIB - 256 * 1024, plan.stackAddress());
    assertEquals(plan.stackAddress() - 4096, plan.guardPageAddress());
    assertEquals(8 * MIB, plan.stackTop());
  }

  @Test
  void tooSmallMemoryNamesTheSizeThatFits() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> MemoryPlan.of(new LayoutSizes(4 * MIB, MIB, 256 * 1024, MIB, MIB), image.end()));
    assertTrue(e.getMessage().contains("use a memory size of at least 8388608"), e.getMessage());
  }

  @Test
  void pageRightsFollowTheAbi() {
    assertUnmapped(0);
    assertUnmapped(0xFFF);
    assertRights(MemoryPlan.GDT_ADDRESS, false, false, false);
    assertRights(MemoryPlan.IDT_ADDRESS, false, false, false);
    assertRights(MemoryPlan.FAULT_STUB_ADDRESS, false, false, true);
    assertRights(MemoryPlan.DESCRIPTOR_ADDRESS, true, false, false);
    assertRights(MemoryPlan.FAULT_STACK_ADDRESS, false, true, false);
    assertRights(MemoryPlan.FAULT_STACK_TOP - 1, false, true, false);
    assertRights(MemoryPlan.PAGE_TABLE_ADDRESS, false, false, false);
    assertRights(0x200000, true, false, true); // code
    assertRights(0x201000, true, false, true); // code, second page
    assertRights(0x202000, true, true, false); // data
    assertRights(0x204FFF, true, true, false);
    assertUnmapped(0x205000);
    assertRights(plan.heapAddress(), true, true, false);
    assertRights(plan.inputAddress(), true, false, false);
    assertRights(plan.outputAddress(), true, true, false);
    assertRights(plan.outputEnd() - 1, true, true, false);
    assertUnmapped(plan.outputEnd());
    assertUnmapped(plan.guardPageAddress());
    assertRights(plan.stackAddress(), true, true, false);
    assertRights(plan.stackTop() - 1, true, true, false);
    assertUnmapped(plan.stackTop());
  }

  @Test
  void taskStateSegmentHasTheFaultStackAndGuestPorts() {
    long tss = MemoryPlan.TSS_ADDRESS;
    assertEquals(0x8000, memory.get(ValueLayout.JAVA_LONG_UNALIGNED, tss + 4)); // RSP0
    assertEquals(0x8000, memory.get(ValueLayout.JAVA_LONG_UNALIGNED, tss + 36)); // IST1
    int bitmap = Short.toUnsignedInt(memory.get(ValueLayout.JAVA_SHORT_UNALIGNED, tss + 102));
    for (int port : new int[] {0x100, 0x105, 0x10F}) {
      assertEquals(0, ioBit(tss + bitmap, port), "port 0x%x allowed".formatted(port));
    }
    for (int port : new int[] {0x80, 0xFF, 0x110, 0x3F8}) {
      if (port / 8
          < TaskStateSegment.builder().allowPortRange(0x100, 16).build().bitmapByteSize()) {
        assertEquals(1, ioBit(tss + bitmap, port), "port 0x%x denied".formatted(port));
      }
    }
  }

  @Test
  void everyExceptionGateUsesIst1AndItsStub() {
    for (int vector = 0; vector < 32; vector++) {
      long gate = MemoryPlan.IDT_ADDRESS + 16L * vector;
      long low = memory.get(ValueLayout.JAVA_LONG_UNALIGNED, gate);
      long handler = (low & 0xFFFF) | ((low >>> 48) & 0xFFFF) << 16;
      assertEquals(MemoryPlan.FAULT_STUB_ADDRESS + 16L * vector, handler);
      assertEquals(1, (low >>> 32) & 7, "IST slot");
      assertEquals(Gdt.KERNEL_CODE_SELECTOR, (low >>> 16) & 0xFFFF);
      assertEquals(1, (low >>> 47) & 1, "present");
    }
    assertEquals(32 * 16 - 1, longMode.idt().limit());
  }

  @Test
  void stubsPushTheVectorAndJumpToTheCommonTail() {
    for (int vector = 0; vector < 32; vector++) {
      long stub = MemoryPlan.FAULT_STUB_ADDRESS + 16L * vector;
      int at = FaultStubs.hasErrorCode(vector) ? 0 : 2;
      if (at == 2) {
        assertEquals(0x6a, Byte.toUnsignedInt(memory.get(ValueLayout.JAVA_BYTE, stub)));
        assertEquals(0, memory.get(ValueLayout.JAVA_BYTE, stub + 1));
      }
      assertEquals(0x6a, Byte.toUnsignedInt(memory.get(ValueLayout.JAVA_BYTE, stub + at)));
      assertEquals(vector, memory.get(ValueLayout.JAVA_BYTE, stub + at + 1));
      assertEquals(0xe9, Byte.toUnsignedInt(memory.get(ValueLayout.JAVA_BYTE, stub + at + 2)));
      int rel = memory.get(ValueLayout.JAVA_INT_UNALIGNED, stub + at + 3);
      assertEquals(MemoryPlan.FAULT_STUB_ADDRESS + FaultStubs.COMMON_OFFSET, stub + at + 7 + rel);
    }
  }

  @Test
  void descriptorPageDescribesTheLayout() {
    MemorySegment d = memory.asSlice(MemoryPlan.DESCRIPTOR_ADDRESS, 4096);
    assertEquals(0x544E4C47, d.get(ValueLayout.JAVA_INT_UNALIGNED, 0));
    assertEquals(1, d.get(ValueLayout.JAVA_SHORT_UNALIGNED, 4));
    assertEquals(0, d.get(ValueLayout.JAVA_SHORT_UNALIGNED, 6));
    long[] expected = {
      plan.memorySize(),
      plan.inputAddress(),
      plan.inputSize(),
      plan.outputAddress(),
      plan.outputSize(),
      plan.heapAddress(),
      plan.heapSize(),
      plan.stackTop(),
      plan.stackSize()
    };
    for (int i = 0; i < expected.length; i++) {
      assertEquals(expected[i], d.get(ValueLayout.JAVA_LONG_UNALIGNED, 8 + 8L * i), "field " + i);
    }
    assertEquals(3, d.get(ValueLayout.JAVA_INT_UNALIGNED, 0x50));
    assertEquals(0, d.get(ValueLayout.JAVA_INT_UNALIGNED, 0x54));
  }

  @Test
  void specialRegistersEnterLongModeAtTheChosenLevel() {
    SpecialRegisters user = longMode.userMode();
    assertEquals(3, user.cpl());
    assertEquals(0x23, user.cs().selector());
    assertEquals(0x1B, user.ss().selector());
    assertEquals(0, longMode.kernelMode().cpl());
    assertEquals(MemoryPlan.PAGE_TABLE_ADDRESS, user.cr3());
    assertEquals(MemoryPlan.GDT_ADDRESS, user.gdt().base());
    assertEquals(MemoryPlan.TSS_ADDRESS, user.tr().base());
    assertTrue((user.efer() & X86.EFER_NXE) != 0);
    assertTrue((user.cr0() & X86.CR0_WP) != 0);
  }

  @Test
  void imageSegmentsAreCopied() {
    GuestImage loaded = new ElfLoader().load(minimalElf());
    MemorySegment fresh = arena.allocate(plan.memorySize(), 4096);
    MemoryInitializer.initialize(
        fresh, MemoryPlan.of(LayoutSizes.defaults(), loaded.end()), loaded, 0);
    assertEquals((byte) 0xEB, fresh.get(ValueLayout.JAVA_BYTE, 0x200000));
    assertEquals(
        0, fresh.get(ValueLayout.JAVA_INT_UNALIGNED, MemoryPlan.DESCRIPTOR_ADDRESS + 0x50));
  }

  private static byte[] minimalElf() {
    java.nio.ByteBuffer b =
        java.nio.ByteBuffer.allocate(0x1002).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    b.put(new byte[] {0x7F, 'E', 'L', 'F', 2, 1, 1, 0});
    b.putShort(0x10, (short) 2).putShort(0x12, (short) 62).putInt(0x14, 1);
    b.putLong(0x18, 0x200000).putLong(0x20, 64);
    b.putShort(0x34, (short) 64).putShort(0x36, (short) 56).putShort(0x38, (short) 1);
    b.putInt(64, 1).putInt(68, 5).putLong(72, 0x1000).putLong(80, 0x200000);
    b.putLong(96, 2).putLong(104, 2);
    b.put(0x1000, (byte) 0xEB).put(0x1001, (byte) 0xFE);
    return b.array();
  }

  private int ioBit(long bitmapAddress, int port) {
    return (memory.get(ValueLayout.JAVA_BYTE, bitmapAddress + port / 8) >>> (port % 8)) & 1;
  }

  /** Walks the 4-level tables; returns the leaf entry, or 0 if not present. */
  private long leaf(long address) {
    long table = longMode.cr3();
    for (int shift = 39; shift >= 12; shift -= 9) {
      long entry =
          memory.get(ValueLayout.JAVA_LONG_UNALIGNED, table + ((address >>> shift) & 511) * 8);
      if ((entry & X86.PTE_PRESENT) == 0) {
        return 0;
      }
      if (shift == 12 || (shift == 21 && (entry & X86.PTE_LARGE) != 0)) {
        return entry;
      }
      table = entry & X86.PTE_ADDRESS_MASK;
    }
    throw new AssertionError();
  }

  private void assertUnmapped(long address) {
    assertEquals(0, leaf(address), () -> "0x%x must be unmapped".formatted(address));
  }

  private void assertRights(long address, boolean user, boolean writable, boolean executable) {
    long entry = leaf(address);
    String where = "0x%x (entry 0x%x)".formatted(address, entry);
    assertTrue(entry != 0, where + " must be mapped");
    assertEquals(user, (entry & X86.PTE_USER) != 0, where + " user");
    assertEquals(writable, (entry & X86.PTE_WRITABLE) != 0, where + " writable");
    assertEquals(executable, (entry & X86.PTE_NO_EXECUTE) == 0, where + " executable");
  }
}
