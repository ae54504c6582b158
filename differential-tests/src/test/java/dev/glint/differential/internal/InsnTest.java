package dev.glint.differential.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.glint.differential.internal.Operand.Mem;
import dev.glint.differential.internal.Operand.Reg;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** The encoder against bytes checked with GNU as/objdump. */
class InsnTest {

  private static void assertBytes(String expected, Insn insn, long address) {
    assertArrayEquals(HexFormat.ofDelimiter(" ").parseHex(expected), insn.encode(address));
  }

  @Test
  void registerForms() {
    assertBytes(
        "48 01 d8", Insn.op(0x01).size(8).reg(Reg.of(3, 8)).rm(Reg.of(0, 8)), 0); // add rax, rbx
    assertBytes(
        "02 e7", Insn.op(0x02).reg(new Reg(0, 1, true)).rm(new Reg(3, 1, true)), 0); // add ah, bh
    assertBytes("40 02 f7", Insn.op(0x02).reg(Reg.of(6, 1)).rm(Reg.of(7, 1)), 0); // add sil, dil
    assertBytes(
        "66 45 01 c8", Insn.op(0x01).size(2).reg(Reg.of(9, 2)).rm(Reg.of(8, 2)), 0); // add r8w, r9w
    assertBytes("49 0f c8", Insn.op(0x0F, 0xC8).size(8).plus(Reg.of(8, 8)), 0); // bswap r8
  }

  @Test
  void memoryForms() {
    // mov rax, [rsp+8]: RSP as base needs a SIB byte.
    assertBytes("48 8b 44 24 08", Insn.op(0x8B).w().reg(Reg.of(0, 8)).rm(Mem.baseDisp(4, 8)), 0);
    // mov eax, [r13]: R13 as base with no displacement needs a zero disp8.
    assertBytes("41 8b 45 00", Insn.op(0x8B).reg(Reg.of(0, 4)).rm(Mem.baseDisp(13, 0)), 0);
    // mov eax, [r12+r9*4-0x200]
    assertBytes(
        "43 8b 84 8c 00 fe ff ff",
        Insn.op(0x8B).reg(Reg.of(0, 4)).rm(new Mem(12, 9, 4, -0x200, 0, false)),
        0);
    // mov ecx, [rbx*8+0x12000]: no base.
    assertBytes(
        "8b 0c dd 00 20 01 00",
        Insn.op(0x8B).reg(Reg.of(1, 4)).rm(new Mem(-1, 3, 8, 0x12000, 0, false)),
        0);
    // add dword [rip+x], 5 at 0x10000 aiming at 0x12000: the displacement counts from the end,
    // immediate included.
    assertBytes(
        "83 05 f9 1f 00 00 05", Insn.op(0x83).reg(0).rm(Mem.rip(0x12000)).imm(5, 1), 0x10000);
  }

  @Test
  void aHighByteRegisterWithRexIsRefused() {
    Insn insn = Insn.op(0x02).reg(new Reg(0, 1, true)).rm(Reg.of(8, 1)); // add ah, r8b
    assertThrows(IllegalStateException.class, () -> insn.encode(0));
  }
}
