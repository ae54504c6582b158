package dev.glint.x86.decoder;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The instruction table indexed by opcode map and opcode byte, built once from {@link
 * InstructionTable#entries()}.
 */
final class OpcodeIndex {

  private static final Encoding[][] INDEX = build();

  private OpcodeIndex() {}

  /** {@return the encodings at {@code opcode} of {@code map}; empty when none} */
  static Encoding[] at(int map, int opcode) {
    return INDEX[map * 256 + opcode];
  }

  /** {@return whether any encoding at {@code opcode} of {@code map} has a ModRM byte} */
  static boolean hasModRm(int map, int opcode) {
    for (Encoding e : at(map, opcode)) {
      if (e.hasModRm()) {
        return true;
      }
    }
    return false;
  }

  private static Encoding[][] build() {
    List<List<Encoding>> lists = new ArrayList<>();
    for (int i = 0; i < 4 * 256; i++) {
      lists.add(new ArrayList<>());
    }
    for (InstructionTable.Entry entry : InstructionTable.entries()) {
      Encoding e = Encoding.parse(entry);
      for (int k = 0; k < e.span(); k++) {
        lists.get(e.map() * 256 + e.opcode() + k).add(e);
      }
    }
    Encoding[][] index = new Encoding[lists.size()][];
    for (int i = 0; i < index.length; i++) {
      // The most specific encoding wins: a single opcode before a +r/+cc range, a whole ModRM
      // byte before a reg digit before a plain /r.
      index[i] =
          lists.get(i).stream()
              .sorted(
                  Comparator.comparingInt(Encoding::span)
                      .thenComparingInt(e -> e.exactModRm() >= 0 ? 0 : e.regDigit() >= 0 ? 1 : 2))
              .toArray(Encoding[]::new);
    }
    return index;
  }
}
