package dev.glint.x86.decoder;

import java.util.ArrayList;
import java.util.List;

/**
 * An {@link InstructionTable.Entry} parsed for decoding: where its opcode sits, what it needs from
 * the prefixes and the ModRM byte, and its operands.
 *
 * @param entry the table entry
 * @param map the opcode map: 0 one-byte, 1 {@code 0F}, 2 {@code 0F 38}, 3 {@code 0F 3A}
 * @param opcode the first opcode byte it covers
 * @param span how many consecutive opcode bytes it covers (1, 8 for {@code +r}, 16 for {@code +cc})
 * @param mandatoryPrefix 0, or the mandatory prefix byte ({@code 0x66}, {@code 0xF2}, {@code 0xF3})
 * @param hasModRm whether a ModRM byte follows the opcode
 * @param regDigit the required ModRM reg field, or -1
 * @param exactModRm the required whole ModRM byte, or -1
 * @param memoryOnly whether ModRM must name memory
 * @param registerOnly whether ModRM must name a register
 * @param operands the operands, destination first
 */
record Encoding(
    InstructionTable.Entry entry,
    int map,
    int opcode,
    int span,
    int mandatoryPrefix,
    boolean hasModRm,
    int regDigit,
    int exactModRm,
    boolean memoryOnly,
    boolean registerOnly,
    List<OperandSpec> operands,
    boolean lockable,
    boolean default64,
    boolean forced64,
    boolean invalidIn64,
    boolean only64,
    boolean notWithRexB) {

  /** {@return whether this encoding is valid in {@code mode}} */
  boolean validIn(CpuMode mode) {
    return mode == CpuMode.LONG_64 ? !invalidIn64 : !only64;
  }

  /**
   * {@return the parsed form of {@code entry}}
   *
   * @throws IllegalArgumentException if the entry's notation is malformed
   */
  static Encoding parse(InstructionTable.Entry entry) {
    String[] tokens = entry.opcode().split(" ");
    int i = 0;
    int mandatory = 0;
    if (tokens.length > 1 && List.of("66", "F2", "F3").contains(tokens[0])) {
      mandatory = Integer.parseInt(tokens[0], 16);
      i++;
    }
    int map = 0;
    if (tokens[i].equals("0F") && i + 1 < tokens.length) {
      map = 1;
      i++;
      if (tokens[i].equals("38") && i + 1 < tokens.length) {
        map = 2;
        i++;
      } else if (tokens[i].equals("3A") && i + 1 < tokens.length) {
        map = 3;
        i++;
      }
    }
    String op = tokens[i++];
    int span = 1;
    if (op.endsWith("+r")) {
      span = 8;
      op = op.substring(0, op.length() - 2);
    } else if (op.endsWith("+cc")) {
      span = 16;
      op = op.substring(0, op.length() - 3);
    }
    int opcode = Integer.parseInt(op, 16);
    int regDigit = -1;
    int exact = -1;
    boolean modrm = false;
    if (i < tokens.length) {
      String m = tokens[i++];
      modrm = true;
      if (m.equals("/r")) {
        // a register or memory operand in ModRM; nothing more to match
      } else if (m.startsWith("/")) {
        regDigit = Integer.parseInt(m.substring(1));
      } else {
        exact = Integer.parseInt(m, 16);
      }
    }
    if (i != tokens.length) {
      throw new IllegalArgumentException("trailing opcode tokens in " + entry);
    }
    List<OperandSpec> operands = new ArrayList<>();
    for (String text : entry.operandList()) {
      OperandSpec spec = OperandSpec.parse(text);
      if (spec.method().usesModRm() && !modrm) {
        throw new IllegalArgumentException("operand " + text + " needs ModRM in " + entry);
      }
      operands.add(spec);
    }
    boolean memoryOnly =
        operands.stream().anyMatch(o -> o.method() == OperandSpec.Method.M) || entry.hasFlag("mem");
    boolean registerOnly =
        exact >= 0
            || operands.stream().anyMatch(o -> o.method() == OperandSpec.Method.U)
            || entry.hasFlag("reg");
    return new Encoding(
        entry,
        map,
        opcode,
        span,
        mandatory,
        modrm,
        regDigit,
        exact,
        memoryOnly,
        registerOnly,
        List.copyOf(operands),
        entry.hasFlag("lock"),
        entry.hasFlag("d64"),
        entry.hasFlag("f64"),
        entry.hasFlag("i64"),
        entry.hasFlag("o64"),
        entry.hasFlag("norexb"));
  }
}
