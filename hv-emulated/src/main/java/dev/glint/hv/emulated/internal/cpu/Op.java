package dev.glint.hv.emulated.internal.cpu;

import dev.glint.x86.decoder.Instruction;
import dev.glint.x86.decoder.Mnemonic;
import dev.glint.x86.decoder.Operand;

/**
 * A decoded instruction flattened for execution: operand kinds, registers and sizes in arrays, the
 * one memory operand's addressing in fields, so executing it allocates nothing. Made once when code
 * is first decoded and kept in the {@link CodeCache}. Immutable.
 */
final class Op {
  static final int NONE = 0;
  static final int GPR = 1;
  static final int HIGH = 2;
  static final int MEM = 3;
  static final int IMM = 4;
  static final int SEG = 5;
  static final int CR = 6;
  static final int XMM = 7;
  static final int REL = 8;
  static final int FAR = 9;

  final Instruction insn;
  final Mnemonic mnemonic;
  final int length;
  final int operandSize;
  final int addrSize;
  final int cond;
  final boolean rep;
  final boolean repne;
  final int count;
  final int[] kind = new int[3];
  final int[] reg = new int[3];
  final int[] size = new int[3];
  long imm;
  int farSelector;
  boolean hasMemory;
  int segment;
  int baseReg = -1;
  int indexReg = -1;
  int scaleShift;
  long disp;
  boolean ripRelative;

  Op(Instruction insn) {
    this.insn = insn;
    this.mnemonic = insn.mnemonic();
    this.length = insn.length();
    this.operandSize = insn.operandSize();
    this.addrSize = insn.addressSize();
    this.cond = insn.condition();
    this.rep = insn.has(Instruction.PREFIX_REP);
    this.repne = insn.has(Instruction.PREFIX_REPNE);
    this.count = insn.operands().size();
    for (int i = 0; i < count; i++) {
      Operand o = insn.operand(i);
      switch (o) {
        case Operand.Register rg -> {
          kind[i] =
              switch (rg.file()) {
                case GPR -> GPR;
                case GPR_HIGH_BYTE -> HIGH;
                case SEGMENT -> SEG;
                case CONTROL -> CR;
                case XMM -> XMM;
              };
          reg[i] = rg.index();
          size[i] = rg.size();
        }
        case Operand.Memory m -> {
          kind[i] = MEM;
          size[i] = m.size();
          // String instructions have two memory operands: the first (the destination, ES:rDI)
          // is implied by the mnemonic; the fields describe the source, whose segment may be
          // overridden.
          if (!hasMemory || m.base() == 6) {
            hasMemory = true;
            segment = m.segment();
            baseReg = m.base();
            indexReg = m.index();
            scaleShift = Integer.numberOfTrailingZeros(m.scale());
            disp = m.displacement();
            ripRelative = m.ripRelative();
          }
        }
        case Operand.Immediate im -> {
          kind[i] = IMM;
          size[i] = im.size();
          imm = im.value(); // the table has at most one immediate per instruction
        }
        case Operand.Relative rel -> {
          kind[i] = REL;
          size[i] = rel.size();
          imm = rel.displacement();
        }
        case Operand.FarPointer far -> {
          kind[i] = FAR;
          size[i] = far.size();
          imm = far.offset();
          farSelector = far.selector();
        }
      }
    }
  }

  @Override
  public String toString() {
    return insn.mnemonic() + " " + insn.operands();
  }
}
