package dev.glint.x86.decoder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The table itself: complete, unambiguous, and every entry decodes back to itself. */
class InstructionTableTest {

  @Test
  void everyMnemonicHasAnEncoding() {
    Set<Mnemonic> missing = EnumSet.allOf(Mnemonic.class);
    missing.removeAll(InstructionTable.mnemonics());
    assertEquals(Set.of(), missing, "mnemonics with no table entry");
  }

  @Test
  void noTwoEntriesClaimTheSameEncoding() {
    Map<String, InstructionTable.Entry> seen = new HashMap<>();
    for (InstructionTable.Entry e : InstructionTable.entries()) {
      String key = e.opcode() + " " + e.modes() + " " + e.hasFlag("norexb");
      InstructionTable.Entry before = seen.put(key, e);
      assertTrue(before == null, e + " duplicates " + before);
    }
  }

  @Test
  void markdownHasOneRowPerEntry() {
    String md = InstructionTable.markdown();
    assertEquals(InstructionTable.entries().size() + 2, md.split("\n").length);
    assertTrue(md.contains("| MOVZX | `0F B6 /r` | `Gv,Eb` |  |"), md);
  }

  static Stream<Object[]> entriesAndModes() {
    List<Object[]> cases = new ArrayList<>();
    for (InstructionTable.Entry e : InstructionTable.entries()) {
      for (CpuMode mode : e.modes()) {
        cases.add(new Object[] {e, mode});
      }
    }
    return cases.stream();
  }

  /** Builds the bytes of {@code e} with a register or memory ModRM, then decodes them. */
  @ParameterizedTest
  @MethodSource("entriesAndModes")
  void everyEntryDecodesToItself(InstructionTable.Entry e, CpuMode mode) throws DecodeException {
    for (boolean memory : new boolean[] {false, true}) {
      byte[] code = encode(e, memory);
      if (code == null) {
        continue;
      }
      Instruction insn = Decoder.decode(code, 0, code.length, mode);
      assertSame(e, insn.entry(), "entry of " + e + " in " + mode);
      assertEquals(e.operandList().size(), insn.operands().size());
      assertTrue(insn.length() <= 15);
      // One byte fewer is reported as truncated, never as something else.
      DecodeException cut =
          org.junit.jupiter.api.Assertions.assertThrows(
              DecodeException.class, () -> Decoder.decode(code, 0, insn.length() - 1, mode));
      assertEquals(DecodeException.Reason.TRUNCATED, cut.reason(), e.toString());
    }
  }

  /**
   * {@return bytes for {@code e}: ModRM names memory ([rbx]/[bp+di]) or a register, or null if the
   * entry does not allow that choice}
   */
  static byte[] encode(InstructionTable.Entry e, boolean memory) {
    List<Integer> out = new ArrayList<>();
    boolean modrm = false;
    for (String t : e.opcode().split(" ")) {
      if (t.equals("/r") || t.startsWith("/")) {
        modrm = true;
        int reg = t.equals("/r") ? 2 : Integer.parseInt(t.substring(1));
        // [rbx] (or [bp+di] with 16-bit addresses), or register 1; reg 2 is a valid CR and Sreg.
        out.add((memory ? 0x03 : 0xC1) | reg << 3);
      } else if (t.contains("+")) {
        out.add(Integer.parseInt(t.substring(0, t.indexOf('+')), 16) + 1);
      } else {
        out.add(Integer.parseInt(t, 16));
      }
    }
    List<String> ops = e.operandList();
    boolean memoryOnly = ops.stream().anyMatch(o -> o.startsWith("M"));
    boolean registerOnly = ops.stream().anyMatch(o -> o.startsWith("U") || o.equals("R"));
    if (memory && (!modrm || registerOnly) || !memory && memoryOnly) {
      return null;
    }
    for (int i = 0; i < 14; i++) {
      out.add(0);
    }
    byte[] code = new byte[out.size()];
    for (int i = 0; i < code.length; i++) {
      code[i] = (byte) (int) out.get(i);
    }
    return code;
  }
}
