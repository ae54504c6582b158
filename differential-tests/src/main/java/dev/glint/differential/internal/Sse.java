package dev.glint.differential.internal;

import dev.glint.differential.internal.Templates.Group;
import dev.glint.differential.internal.Templates.Template;
import java.util.List;

/**
 * The SSE and SSE2 templates: moves, integer and logic operations on XMM registers, shuffles,
 * shifts, and the scalar and packed floating-point operations gcc emits. Legacy (non-VEX) encodings
 * only; packed memory operands are 16-byte aligned except for the unaligned moves (and now and then
 * misaligned on purpose, which must raise #GP).
 */
final class Sse {
  private Sse() {}

  /** How an instruction's operands are encoded. */
  private enum Form {
    /** xmm, xmm/m128 (aligned). */
    X_XM,
    /** xmm, xmm (register only). */
    X_X,
    /** xmm, m64 (memory only). */
    X_M64,
    /** xmm, xmm/m128, unaligned memory allowed. */
    X_XMU,
    /** xmm/m128, xmm (a store; aligned). */
    XM_X,
    /** xmm/m128, xmm, unaligned memory allowed. */
    XMU_X,
    /** xmm, xmm/m64. */
    X_XM64,
    /** xmm, xmm/m32. */
    X_XM32,
    /** xmm/m64, xmm. */
    XM64_X,
    /** xmm/m32, xmm. */
    XM32_X,
    /** xmm, r/m32 (or r/m64 with REX.W). */
    X_RM,
    /** r/m32 (or r/m64 with REX.W), xmm. */
    RM_X,
    /** r32, xmm (register only). */
    R_X,
    /** r32 or r64, xmm/m64. */
    R_XM64,
    /** r32 or r64, xmm/m32. */
    R_XM32,
    /** xmm, imm8 with an opcode extension in the reg field. */
    X_IMM,
    /** xmm, xmm/m128, imm8 (aligned). */
    X_XM_IMM,
    /** xmm, r32/m16, imm8. */
    X_RM16_IMM,
    /** r32, xmm, imm8. */
    R_X_IMM,
    /** xmm, xmm/m64, flags from a comparison. */
    COMPARE64,
    /** xmm, xmm/m32, flags from a comparison. */
    COMPARE32
  }

  /**
   * One instruction.
   *
   * @param mnemonic Intel's mnemonic
   * @param prefix the mandatory prefix (0x66, 0xF2, 0xF3) or 0
   * @param opcode the byte after 0x0F
   * @param form the operand form
   * @param extension the reg-field extension for {@link Form#X_IMM}, else -1
   * @param wide whether the general operand may be 64 bits (REX.W)
   */
  private record Op(
      String mnemonic, int prefix, int opcode, Form form, int extension, boolean wide) {
    Op(String mnemonic, int prefix, int opcode, Form form) {
      this(mnemonic, prefix, opcode, form, -1, false);
    }
  }

  private static final List<Op> OPS =
      List.of(
          new Op("movdqa", 0x66, 0x6F, Form.X_XM),
          new Op("movdqa", 0x66, 0x7F, Form.XM_X),
          new Op("movdqu", 0xF3, 0x6F, Form.X_XMU),
          new Op("movdqu", 0xF3, 0x7F, Form.XMU_X),
          new Op("movaps", 0, 0x28, Form.X_XM),
          new Op("movaps", 0, 0x29, Form.XM_X),
          new Op("movups", 0, 0x10, Form.X_XMU),
          new Op("movups", 0, 0x11, Form.XMU_X),
          new Op("movapd", 0x66, 0x28, Form.X_XM),
          new Op("movupd", 0x66, 0x11, Form.XMU_X),
          new Op("movss", 0xF3, 0x10, Form.X_XM32),
          new Op("movss", 0xF3, 0x11, Form.XM32_X),
          new Op("movsd", 0xF2, 0x10, Form.X_XM64),
          new Op("movsd", 0xF2, 0x11, Form.XM64_X),
          new Op("movd", 0x66, 0x6E, Form.X_RM, -1, true),
          new Op("movd", 0x66, 0x7E, Form.RM_X, -1, true),
          new Op("movq", 0xF3, 0x7E, Form.X_XM64),
          new Op("movq", 0x66, 0xD6, Form.XM64_X),
          new Op("movlpd", 0x66, 0x12, Form.X_M64),
          new Op("movhpd", 0x66, 0x16, Form.X_M64),
          new Op("movhlps", 0, 0x12, Form.X_X),
          new Op("movlhps", 0, 0x16, Form.X_X),
          new Op("pmovmskb", 0x66, 0xD7, Form.R_X),
          new Op("movmskps", 0, 0x50, Form.R_X),
          new Op("movmskpd", 0x66, 0x50, Form.R_X),
          new Op("pxor", 0x66, 0xEF, Form.X_XM),
          new Op("por", 0x66, 0xEB, Form.X_XM),
          new Op("pand", 0x66, 0xDB, Form.X_XM),
          new Op("pandn", 0x66, 0xDF, Form.X_XM),
          new Op("xorps", 0, 0x57, Form.X_XM),
          new Op("andps", 0, 0x54, Form.X_XM),
          new Op("andnps", 0, 0x55, Form.X_XM),
          new Op("orps", 0, 0x56, Form.X_XM),
          new Op("xorpd", 0x66, 0x57, Form.X_XM),
          new Op("andpd", 0x66, 0x54, Form.X_XM),
          new Op("paddb", 0x66, 0xFC, Form.X_XM),
          new Op("paddw", 0x66, 0xFD, Form.X_XM),
          new Op("paddd", 0x66, 0xFE, Form.X_XM),
          new Op("paddq", 0x66, 0xD4, Form.X_XM),
          new Op("psubb", 0x66, 0xF8, Form.X_XM),
          new Op("psubw", 0x66, 0xF9, Form.X_XM),
          new Op("psubd", 0x66, 0xFA, Form.X_XM),
          new Op("psubq", 0x66, 0xFB, Form.X_XM),
          new Op("paddusb", 0x66, 0xDC, Form.X_XM),
          new Op("paddusw", 0x66, 0xDD, Form.X_XM),
          new Op("psubusb", 0x66, 0xD8, Form.X_XM),
          new Op("psubusw", 0x66, 0xD9, Form.X_XM),
          new Op("paddsb", 0x66, 0xEC, Form.X_XM),
          new Op("paddsw", 0x66, 0xED, Form.X_XM),
          new Op("psubsb", 0x66, 0xE8, Form.X_XM),
          new Op("psubsw", 0x66, 0xE9, Form.X_XM),
          new Op("pcmpeqb", 0x66, 0x74, Form.X_XM),
          new Op("pcmpeqw", 0x66, 0x75, Form.X_XM),
          new Op("pcmpeqd", 0x66, 0x76, Form.X_XM),
          new Op("pcmpgtb", 0x66, 0x64, Form.X_XM),
          new Op("pcmpgtw", 0x66, 0x65, Form.X_XM),
          new Op("pcmpgtd", 0x66, 0x66, Form.X_XM),
          new Op("pmullw", 0x66, 0xD5, Form.X_XM),
          new Op("pmulhw", 0x66, 0xE5, Form.X_XM),
          new Op("pmulhuw", 0x66, 0xE4, Form.X_XM),
          new Op("pmuludq", 0x66, 0xF4, Form.X_XM),
          new Op("pmaddwd", 0x66, 0xF5, Form.X_XM),
          new Op("pminub", 0x66, 0xDA, Form.X_XM),
          new Op("pmaxub", 0x66, 0xDE, Form.X_XM),
          new Op("pminsw", 0x66, 0xEA, Form.X_XM),
          new Op("pmaxsw", 0x66, 0xEE, Form.X_XM),
          new Op("pavgb", 0x66, 0xE0, Form.X_XM),
          new Op("psadbw", 0x66, 0xF6, Form.X_XM),
          new Op("punpcklbw", 0x66, 0x60, Form.X_XM),
          new Op("punpcklwd", 0x66, 0x61, Form.X_XM),
          new Op("punpckldq", 0x66, 0x62, Form.X_XM),
          new Op("punpcklqdq", 0x66, 0x6C, Form.X_XM),
          new Op("punpckhbw", 0x66, 0x68, Form.X_XM),
          new Op("punpckhwd", 0x66, 0x69, Form.X_XM),
          new Op("punpckhdq", 0x66, 0x6A, Form.X_XM),
          new Op("punpckhqdq", 0x66, 0x6D, Form.X_XM),
          new Op("packsswb", 0x66, 0x63, Form.X_XM),
          new Op("packuswb", 0x66, 0x67, Form.X_XM),
          new Op("packssdw", 0x66, 0x6B, Form.X_XM),
          new Op("psrlw", 0x66, 0xD1, Form.X_XM),
          new Op("psrld", 0x66, 0xD2, Form.X_XM),
          new Op("psrlq", 0x66, 0xD3, Form.X_XM),
          new Op("psraw", 0x66, 0xE1, Form.X_XM),
          new Op("psrad", 0x66, 0xE2, Form.X_XM),
          new Op("psllw", 0x66, 0xF1, Form.X_XM),
          new Op("pslld", 0x66, 0xF2, Form.X_XM),
          new Op("psllq", 0x66, 0xF3, Form.X_XM),
          new Op("psrlw", 0x66, 0x71, Form.X_IMM, 2, false),
          new Op("psraw", 0x66, 0x71, Form.X_IMM, 4, false),
          new Op("psllw", 0x66, 0x71, Form.X_IMM, 6, false),
          new Op("psrld", 0x66, 0x72, Form.X_IMM, 2, false),
          new Op("psrad", 0x66, 0x72, Form.X_IMM, 4, false),
          new Op("pslld", 0x66, 0x72, Form.X_IMM, 6, false),
          new Op("psrlq", 0x66, 0x73, Form.X_IMM, 2, false),
          new Op("psrldq", 0x66, 0x73, Form.X_IMM, 3, false),
          new Op("psllq", 0x66, 0x73, Form.X_IMM, 6, false),
          new Op("pslldq", 0x66, 0x73, Form.X_IMM, 7, false),
          new Op("pshufd", 0x66, 0x70, Form.X_XM_IMM),
          new Op("pshuflw", 0xF2, 0x70, Form.X_XM_IMM),
          new Op("pshufhw", 0xF3, 0x70, Form.X_XM_IMM),
          new Op("shufps", 0, 0xC6, Form.X_XM_IMM),
          new Op("shufpd", 0x66, 0xC6, Form.X_XM_IMM),
          new Op("unpcklps", 0, 0x14, Form.X_XM),
          new Op("unpckhps", 0, 0x15, Form.X_XM),
          new Op("unpcklpd", 0x66, 0x14, Form.X_XM),
          new Op("unpckhpd", 0x66, 0x15, Form.X_XM),
          new Op("pinsrw", 0x66, 0xC4, Form.X_RM16_IMM),
          new Op("pextrw", 0x66, 0xC5, Form.R_X_IMM),
          new Op("addsd", 0xF2, 0x58, Form.X_XM64),
          new Op("subsd", 0xF2, 0x5C, Form.X_XM64),
          new Op("mulsd", 0xF2, 0x59, Form.X_XM64),
          new Op("divsd", 0xF2, 0x5E, Form.X_XM64),
          new Op("sqrtsd", 0xF2, 0x51, Form.X_XM64),
          new Op("minsd", 0xF2, 0x5D, Form.X_XM64),
          new Op("maxsd", 0xF2, 0x5F, Form.X_XM64),
          new Op("addss", 0xF3, 0x58, Form.X_XM32),
          new Op("subss", 0xF3, 0x5C, Form.X_XM32),
          new Op("mulss", 0xF3, 0x59, Form.X_XM32),
          new Op("divss", 0xF3, 0x5E, Form.X_XM32),
          new Op("addpd", 0x66, 0x58, Form.X_XM),
          new Op("mulpd", 0x66, 0x59, Form.X_XM),
          new Op("addps", 0, 0x58, Form.X_XM),
          new Op("mulps", 0, 0x59, Form.X_XM),
          new Op("cvtsi2sd", 0xF2, 0x2A, Form.X_RM, -1, true),
          new Op("cvtsi2ss", 0xF3, 0x2A, Form.X_RM, -1, true),
          new Op("cvttsd2si", 0xF2, 0x2C, Form.R_XM64, -1, true),
          new Op("cvtsd2si", 0xF2, 0x2D, Form.R_XM64, -1, true),
          new Op("cvttss2si", 0xF3, 0x2C, Form.R_XM32, -1, true),
          new Op("cvtss2sd", 0xF3, 0x5A, Form.X_XM32),
          new Op("cvtsd2ss", 0xF2, 0x5A, Form.X_XM64),
          new Op("cvtdq2pd", 0xF3, 0xE6, Form.X_XM64),
          new Op("cvtdq2ps", 0, 0x5B, Form.X_XM),
          new Op("cvttps2dq", 0xF3, 0x5B, Form.X_XM),
          new Op("ucomisd", 0x66, 0x2E, Form.COMPARE64),
          new Op("comisd", 0x66, 0x2F, Form.COMPARE64),
          new Op("ucomiss", 0, 0x2E, Form.COMPARE32),
          new Op("comiss", 0, 0x2F, Form.COMPARE32));

  /** Adds a template per instruction. */
  static void add(List<Template> templates) {
    for (Op op : OPS) {
      templates.add(
          new Template(
              op.mnemonic() + " " + op.form().name().toLowerCase(java.util.Locale.ROOT),
              Group.SSE,
              List.of(op.mnemonic()),
              2,
              g -> emit(g, op)));
    }
  }

  private static boolean emit(Gen g, Op op) {
    if (!g.sse) {
      return false;
    }
    g.beginRex();
    Insn insn = Insn.op(0x0F, op.opcode());
    if (op.prefix() != 0) {
      insn.prefix(op.prefix());
    }
    int imm = -1;
    switch (op.form()) {
      case X_X -> insn.regXmm(g.xmm()).rmXmm(g.xmm());
      case X_M64 -> insn.regXmm(g.xmm()).rm(g.memory(8));
      case X_XM, X_XMU -> insn.regXmm(g.xmm()).rm(xmmOrMemory(g, 16, op.form() == Form.X_XM));
      case XM_X, XMU_X -> insn.regXmm(g.xmm()).rm(xmmOrMemory(g, 16, op.form() == Form.XM_X));
      case X_XM64, XM64_X, COMPARE64 -> insn.regXmm(g.xmm()).rm(xmmOrMemory(g, 8, false));
      case X_XM32, XM32_X, COMPARE32 -> insn.regXmm(g.xmm()).rm(xmmOrMemory(g, 4, false));
      case X_RM -> {
        boolean wide = g.random.nextBoolean();
        if (wide) {
          insn.w();
        }
        insn.regXmm(g.xmm()).rm(g.readableOperand(wide ? 8 : 4));
      }
      case RM_X -> {
        boolean wide = g.random.nextBoolean();
        if (wide) {
          insn.w();
        }
        insn.regXmm(g.xmm()).rm(g.writableOperand(wide ? 8 : 4));
      }
      case R_X -> insn.reg(g.destination(4)).rmXmm(g.xmm());
      case R_XM64, R_XM32 -> {
        boolean wide = g.random.nextBoolean();
        if (wide) {
          insn.w();
        }
        insn.reg(g.destination(wide ? 8 : 4))
            .rm(xmmOrMemory(g, op.form() == Form.R_XM64 ? 8 : 4, false));
      }
      case X_IMM -> {
        insn.reg(op.extension()).rmXmm(g.xmm());
        imm = g.random.nextInt(4) == 0 ? g.random.nextInt(256) : g.random.nextInt(20);
      }
      case X_XM_IMM -> {
        insn.regXmm(g.xmm()).rm(xmmOrMemory(g, 16, true));
        imm = g.random.nextInt(256);
      }
      case X_RM16_IMM -> {
        Operand source = g.random.nextBoolean() ? g.source(4) : g.memory(2);
        insn.regXmm(g.xmm()).rm(source);
        imm = g.random.nextInt(256);
      }
      case R_X_IMM -> {
        insn.reg(g.destination(4)).rmXmm(g.xmm());
        imm = g.random.nextInt(256);
      }
    }
    if (imm >= 0) {
      insn.imm(imm, 1);
    }
    g.emit(op.mnemonic(), insn);
    if (op.form() == Form.COMPARE32 || op.form() == Form.COMPARE64) {
      g.flags(Flags.STATUS, 0);
    }
    return true;
  }

  /** An XMM register (as a register operand) or memory of {@code size} bytes. */
  private static Operand xmmOrMemory(Gen g, int size, boolean aligned) {
    if (g.random.nextInt(3) == 0) {
      return g.memory(size, aligned);
    }
    // An XMM register in the r/m field has the same encoding as a general register number.
    return Operand.Reg.of(g.xmm(), 8);
  }
}
