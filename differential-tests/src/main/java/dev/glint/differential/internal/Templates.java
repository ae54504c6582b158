package dev.glint.differential.internal;

import static dev.glint.differential.internal.Flags.AF;
import static dev.glint.differential.internal.Flags.CF;
import static dev.glint.differential.internal.Flags.OF;
import static dev.glint.differential.internal.Flags.PF;
import static dev.glint.differential.internal.Flags.SF;
import static dev.glint.differential.internal.Flags.STATUS;
import static dev.glint.differential.internal.Flags.ZF;

import dev.glint.differential.internal.Operand.Mem;
import dev.glint.differential.internal.Operand.Reg;
import java.util.ArrayList;
import java.util.List;

/**
 * The instruction templates: each emits one unit (usually one instruction, sometimes a short setup
 * plus the instruction under test) with random operands, and records its effect on the status
 * flags, so that nothing later depends on a flag the architecture leaves undefined.
 *
 * <p>Each template names the mnemonics it emits, so the set can be cut down to the instructions a
 * backend implements. Mnemonics are Intel's, lower case, with {@code cc} for a condition code
 * ({@code jcc}, {@code setcc}, {@code cmovcc}), and {@code rep} forms named by their base
 * instruction.
 */
public final class Templates {
  private Templates() {}

  /** Which group a template belongs to, for weighting and reporting. */
  public enum Group {
    /** General-purpose integer instructions. */
    INTEGER,
    /** String instructions, with and without {@code rep}. */
    STRING,
    /** Jumps, calls and returns. */
    CONTROL,
    /** Port I/O. */
    IO,
    /** Instructions that fault on purpose. */
    FAULT,
    /** SSE and SSE2. */
    SSE
  }

  /**
   * One template.
   *
   * @param name a unique name, such as "add r/m, imm"
   * @param group its group
   * @param mnemonics every mnemonic it may emit
   * @param weight its relative frequency
   * @param body emits the unit; returns false if it does not apply now (then nothing was emitted)
   */
  public record Template(String name, Group group, List<String> mnemonics, int weight, Body body) {}

  /** Emits a unit. */
  @FunctionalInterface
  public interface Body {
    /** {@return whether a unit was emitted} */
    boolean emit(Gen g);
  }

  private static final String[] ALU = {"add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"};
  private static final String[] SHIFTS = {"rol", "ror", "rcl", "rcr", "shl", "shr", null, "sar"};
  private static final String[] BIT_TESTS = {"bt", "bts", "btr", "btc"};

  /** {@return every template} */
  public static List<Template> all() {
    List<Template> t = new ArrayList<>();
    integer(t);
    strings(t);
    control(t);
    io(t);
    faults(t);
    Sse.add(t);
    return List.copyOf(t);
  }

  private static void add(
      List<Template> t, String name, Group group, int weight, Body body, String... mnemonics) {
    t.add(new Template(name, group, List.of(mnemonics), weight, body));
  }

  private static int logicFlags(Gen g) {
    g.flags(STATUS & ~AF, AF);
    return 0;
  }

  private static void integer(List<Template> t) {
    for (int op = 0; op < 8; op++) {
      int o = op;
      String m = ALU[op];
      boolean readsCarry = op == 2 || op == 3;
      boolean writes = op != 7;
      boolean logic = op == 1 || op == 4 || op == 6;
      add(
          t,
          m,
          Group.INTEGER,
          12,
          g -> {
            if (readsCarry && !g.defined(CF)) {
              return false;
            }
            int size = g.size();
            g.begin(size);
            int wide = size == 1 ? 0 : 1;
            switch (g.random.nextInt(5)) {
              case 0 -> {
                Operand dst = writes ? g.writableOperand(size) : g.readableOperand(size);
                Reg src = g.source(size);
                g.emit(m, Insn.op(o * 8 + wide).size(size).reg(src).rm(dst));
              }
              case 1 -> {
                Reg dst = writes ? g.destination(size) : g.source(size);
                Operand src = g.random.nextInt(6) == 0 ? dst : g.readableOperand(size);
                g.emit(m, Insn.op(o * 8 + 2 + wide).size(size).reg(dst).rm(src));
              }
              case 2, 3 -> {
                Operand dst = writes ? g.writableOperand(size) : g.readableOperand(size);
                if (size == 1) {
                  g.emit(m, Insn.op(0x80).reg(o).rm(dst).imm(g.imm(1), 1));
                } else if (g.random.nextBoolean()) {
                  g.emit(m, Insn.op(0x83).size(size).reg(o).rm(dst).imm(g.imm(1), 1));
                } else {
                  int bytes = Math.min(size, 4);
                  g.emit(m, Insn.op(0x81).size(size).reg(o).rm(dst).imm(g.imm(bytes), bytes));
                }
              }
              default -> {
                int bytes = Math.min(size, 4);
                g.emit(m, Insn.op(o * 8 + 4 + wide).size(size).imm(g.imm(bytes), bytes));
              }
            }
            if (logic) {
              logicFlags(g);
            } else {
              g.flags(STATUS, 0);
            }
            return true;
          },
          m);
    }
    add(
        t,
        "test",
        Group.INTEGER,
        6,
        g -> {
          int size = g.size();
          g.begin(size);
          int wide = size == 1 ? 0 : 1;
          int bytes = Math.min(size, 4);
          switch (g.random.nextInt(3)) {
            case 0 ->
                g.emit(
                    "test",
                    Insn.op(0x84 + wide)
                        .size(size)
                        .reg(g.source(size))
                        .rm(g.readableOperand(size)));
            case 1 ->
                g.emit(
                    "test",
                    Insn.op(0xF6 + wide)
                        .size(size)
                        .reg(0)
                        .rm(g.readableOperand(size))
                        .imm(g.imm(bytes), bytes));
            default -> g.emit("test", Insn.op(0xA8 + wide).size(size).imm(g.imm(bytes), bytes));
          }
          logicFlags(g);
          return true;
        },
        "test");
    add(t, "not", Group.INTEGER, 4, g -> group3(g, 2, "not", 0, 0), "not");
    add(t, "neg", Group.INTEGER, 4, g -> group3(g, 3, "neg", STATUS, 0), "neg");
    add(t, "mul", Group.INTEGER, 4, g -> group3(g, 4, "mul", CF | OF, SF | ZF | AF | PF), "mul");
    add(
        t,
        "imul r/m",
        Group.INTEGER,
        4,
        g -> group3(g, 5, "imul", CF | OF, SF | ZF | AF | PF),
        "imul");
    add(t, "div", Group.INTEGER, 2, g -> group3(g, 6, "div", 0, STATUS), "div");
    add(t, "idiv", Group.INTEGER, 2, g -> group3(g, 7, "idiv", 0, STATUS), "idiv");
    add(
        t,
        "div (non-faulting)",
        Group.INTEGER,
        5,
        g -> guardedDivide(g, false),
        "div",
        "or",
        "xor",
        "movzx");
    add(
        t,
        "idiv (non-faulting)",
        Group.INTEGER,
        5,
        g -> guardedDivide(g, true),
        "idiv",
        "or",
        "cbw",
        "cwd",
        "cdq",
        "cqo");
    for (int ext = 0; ext < 2; ext++) {
      int e = ext;
      String m = ext == 0 ? "inc" : "dec";
      add(
          t,
          m,
          Group.INTEGER,
          6,
          g -> {
            int size = g.size();
            g.begin(size);
            g.emit(
                m, Insn.op(size == 1 ? 0xFE : 0xFF).size(size).reg(e).rm(g.writableOperand(size)));
            g.flags(STATUS & ~CF, 0);
            return true;
          },
          m);
    }
    add(
        t,
        "imul r, r/m",
        Group.INTEGER,
        5,
        g -> {
          int size = g.wideSize();
          g.beginRex();
          switch (g.random.nextInt(3)) {
            case 0 ->
                g.emit(
                    "imul",
                    Insn.op(0x0F, 0xAF)
                        .size(size)
                        .reg(g.destination(size))
                        .rm(g.readableOperand(size)));
            case 1 ->
                g.emit(
                    "imul",
                    Insn.op(0x6B)
                        .size(size)
                        .reg(g.destination(size))
                        .rm(g.readableOperand(size))
                        .imm(g.imm(1), 1));
            default -> {
              int bytes = Math.min(size, 4);
              g.emit(
                  "imul",
                  Insn.op(0x69)
                      .size(size)
                      .reg(g.destination(size))
                      .rm(g.readableOperand(size))
                      .imm(g.imm(bytes), bytes));
            }
          }
          g.flags(CF | OF, SF | ZF | AF | PF);
          return true;
        },
        "imul");
    for (int ext : new int[] {0, 1, 2, 3, 4, 5, 7}) {
      String m = SHIFTS[ext];
      add(t, m, Group.INTEGER, 7, g -> shift(g, ext, m), m, "mov");
    }
    for (int right = 0; right < 2; right++) {
      boolean r = right == 1;
      String m = r ? "shrd" : "shld";
      add(t, m, Group.INTEGER, 3, g -> doubleShift(g, r, m), m, "mov");
    }
    for (int ext = 0; ext < 4; ext++) {
      int e = ext;
      String m = BIT_TESTS[ext];
      add(
          t,
          m,
          Group.INTEGER,
          4,
          g -> {
            int size = g.wideSize();
            g.beginRex();
            if (g.random.nextBoolean()) {
              Reg dst = e == 0 ? g.source(size) : g.destination(size);
              g.emit(m, Insn.op(0x0F, 0xA3 + 8 * e).size(size).reg(g.source(size)).rm(dst));
            } else {
              Operand dst = e == 0 ? g.readableOperand(size) : g.writableOperand(size);
              g.emit(
                  m,
                  Insn.op(0x0F, 0xBA).size(size).reg(4 + e).rm(dst).imm(g.random.nextInt(256), 1));
            }
            g.flags(CF, OF | SF | AF | PF);
            return true;
          },
          m);
    }
    for (int reverse = 0; reverse < 2; reverse++) {
      int rv = reverse;
      String m = reverse == 0 ? "bsf" : "bsr";
      add(
          t,
          m,
          Group.INTEGER,
          4,
          g -> {
            int size = g.wideSize();
            g.beginRex();
            g.emit(
                m,
                Insn.op(0x0F, 0xBC + rv)
                    .size(size)
                    .reg(g.destination(size))
                    .rm(g.readableOperand(size)));
            g.flags(ZF, CF | OF | SF | AF | PF);
            return true;
          },
          m);
      String n = reverse == 0 ? "tzcnt" : "lzcnt";
      add(
          t,
          n,
          Group.INTEGER,
          3,
          g -> {
            int size = g.wideSize();
            g.beginRex();
            g.emit(
                n,
                Insn.op(0x0F, 0xBC + rv)
                    .size(size)
                    .prefix(0xF3)
                    .reg(g.destination(size))
                    .rm(g.readableOperand(size)));
            g.flags(CF | ZF, OF | SF | AF | PF);
            return true;
          },
          n);
    }
    add(
        t,
        "popcnt",
        Group.INTEGER,
        3,
        g -> {
          int size = g.wideSize();
          g.beginRex();
          g.emit(
              "popcnt",
              Insn.op(0x0F, 0xB8)
                  .size(size)
                  .prefix(0xF3)
                  .reg(g.destination(size))
                  .rm(g.readableOperand(size)));
          g.flags(STATUS, 0);
          return true;
        },
        "popcnt");
    add(
        t,
        "bswap",
        Group.INTEGER,
        3,
        g -> {
          int size = g.random.nextBoolean() ? 4 : 8;
          g.beginRex();
          g.emit("bswap", Insn.op(0x0F, 0xC8).size(size).plus(g.destination(size)));
          return true;
        },
        "bswap");
    String[][] extend = {{"cbw", "cwde", "cdqe"}, {"cwd", "cdq", "cqo"}};
    for (int k = 0; k < 2; k++) {
      int kind = k;
      add(
          t,
          extend[k][0] + " family",
          Group.INTEGER,
          3,
          g -> {
            int which = g.random.nextInt(3);
            g.emit(extend[kind][which], Insn.op(0x98 + kind).size(2 << which));
            return true;
          },
          extend[k]);
    }
    add(
        t,
        "mov",
        Group.INTEGER,
        14,
        g -> {
          int size = g.size();
          g.begin(size);
          int wide = size == 1 ? 0 : 1;
          switch (g.random.nextInt(6)) {
            case 0 ->
                g.emit(
                    "mov",
                    Insn.op(0x88 + wide)
                        .size(size)
                        .reg(g.source(size))
                        .rm(g.writableOperand(size)));
            case 1 ->
                g.emit(
                    "mov",
                    Insn.op(0x8A + wide)
                        .size(size)
                        .reg(g.destination(size))
                        .rm(g.readableOperand(size)));
            case 2 -> {
              int bytes = Math.min(size, 4);
              g.emit(
                  "mov",
                  Insn.op(0xC6 + wide)
                      .size(size)
                      .reg(0)
                      .rm(g.writableOperand(size))
                      .imm(g.imm(bytes), bytes));
            }
            case 3 ->
                g.emit(
                    "mov", Insn.op(0x88 + wide).size(size).reg(g.source(size)).rm(g.memory(size)));
            default -> {
              int bytes = size;
              g.emit(
                  "mov",
                  Insn.op(size == 1 ? 0xB0 : 0xB8)
                      .size(size)
                      .plus(g.destination(size))
                      .imm(g.imm(bytes), bytes));
            }
          }
          return true;
        },
        "mov");
    for (int signed = 0; signed < 2; signed++) {
      int s = signed;
      String m = signed == 0 ? "movzx" : "movsx";
      add(
          t,
          m,
          Group.INTEGER,
          6,
          g -> {
            boolean fromByte = g.random.nextBoolean();
            int size = fromByte ? g.wideSize() : (g.random.nextBoolean() ? 4 : 8);
            if (size == 8 || !fromByte) {
              g.beginRex();
            } else {
              g.begin(1);
            }
            Reg dst = g.destination(size);
            Operand src = g.readableOperand(fromByte ? 1 : 2);
            g.emit(m, Insn.op(0x0F, (fromByte ? 0xB6 : 0xB7) + 8 * s).size(size).reg(dst).rm(src));
            return true;
          },
          m);
    }
    add(
        t,
        "movsxd",
        Group.INTEGER,
        3,
        g -> {
          g.beginRex();
          g.emit("movsxd", Insn.op(0x63).w().reg(g.destination(8)).rm(g.readableOperand(4)));
          return true;
        },
        "movsxd");
    add(
        t,
        "lea",
        Group.INTEGER,
        6,
        g -> {
          int size = g.wideSize();
          g.beginRex();
          g.emit("lea", Insn.op(0x8D).size(size).reg(g.destination(size)).rm(g.anyAddress()));
          return true;
        },
        "lea");
    add(
        t,
        "cmovcc",
        Group.INTEGER,
        6,
        g -> {
          int cc = g.condition();
          if (cc < 0) {
            return false;
          }
          int size = g.wideSize();
          g.beginRex();
          g.emit(
              "cmovcc",
              Insn.op(0x0F, 0x40 + cc)
                  .size(size)
                  .reg(g.destination(size))
                  .rm(g.readableOperand(size)));
          return true;
        },
        "cmovcc");
    add(
        t,
        "setcc",
        Group.INTEGER,
        6,
        g -> {
          int cc = g.condition();
          if (cc < 0) {
            return false;
          }
          g.begin(1);
          g.emit("setcc", Insn.op(0x0F, 0x90 + cc).reg(0).rm(g.writableOperand(1)));
          return true;
        },
        "setcc");
    add(
        t,
        "xchg",
        Group.INTEGER,
        4,
        g -> {
          int size = g.size();
          g.begin(size);
          if (size > 1 && g.random.nextInt(3) == 0) {
            Reg r = g.destination(size);
            if (r.code() == 0) {
              return false; // 90 is nop, not xchg eax, eax
            }
            g.emit("xchg", Insn.op(0x90).size(size).plus(r));
          } else {
            g.emit(
                "xchg",
                Insn.op(size == 1 ? 0x86 : 0x87)
                    .size(size)
                    .reg(g.destination(size))
                    .rm(g.writableOperand(size)));
          }
          return true;
        },
        "xchg");
    add(
        t,
        "xadd",
        Group.INTEGER,
        3,
        g -> {
          int size = g.size();
          g.begin(size);
          g.emit(
              "xadd",
              Insn.op(0x0F, size == 1 ? 0xC0 : 0xC1)
                  .size(size)
                  .reg(g.destination(size))
                  .rm(g.writableOperand(size)));
          g.flags(STATUS, 0);
          return true;
        },
        "xadd");
    add(
        t,
        "cmpxchg",
        Group.INTEGER,
        3,
        g -> {
          int size = g.size();
          g.begin(size);
          g.emit(
              "cmpxchg",
              Insn.op(0x0F, size == 1 ? 0xB0 : 0xB1)
                  .size(size)
                  .reg(g.source(size))
                  .rm(g.writableOperand(size)));
          g.flags(STATUS, 0);
          return true;
        },
        "cmpxchg");
    add(
        t,
        "push",
        Group.INTEGER,
        6,
        g -> {
          g.beginRex();
          switch (g.random.nextInt(4)) {
            case 0 -> g.emit("push", Insn.op(0x6A).imm(g.imm(1), 1));
            case 1 -> g.emit("push", Insn.op(0x68).imm(g.imm(4), 4));
            case 2 -> g.emit("push", Insn.op(0xFF).reg(6).rm(g.memory(8)));
            default -> g.emit("push", Insn.op(0x50).plus(g.source(8)));
          }
          return true;
        },
        "push");
    add(
        t,
        "pop",
        Group.INTEGER,
        5,
        g -> {
          g.beginRex();
          if (g.random.nextInt(3) == 0) {
            g.emit("pop", Insn.op(0x8F).reg(0).rm(g.memory(8)));
          } else {
            g.emit("pop", Insn.op(0x58).plus(g.destination(8)));
          }
          return true;
        },
        "pop");
    add(
        t,
        "nop",
        Group.INTEGER,
        2,
        g -> {
          g.beginRex();
          switch (g.random.nextInt(3)) {
            case 0 -> g.emit("nop", Insn.op(0x90));
            case 1 -> g.emit("nop", Insn.op(0x90).prefix(0x66));
            default ->
                g.emit(
                    "nop",
                    Insn.op(0x0F, 0x1F)
                        .size(g.random.nextBoolean() ? 2 : 4)
                        .reg(0)
                        .rm(g.anyAddress()));
          }
          return true;
        },
        "nop");
    add(
        t,
        "clc/stc/cmc",
        Group.INTEGER,
        3,
        g -> {
          switch (g.random.nextInt(3)) {
            case 0 -> g.emit("clc", Insn.op(0xF8));
            case 1 -> g.emit("stc", Insn.op(0xF9));
            default -> {
              if (!g.defined(CF)) {
                return false;
              }
              g.emit("cmc", Insn.op(0xF5));
            }
          }
          g.flags(CF, 0);
          return true;
        },
        "clc",
        "stc",
        "cmc");
    add(
        t,
        "cld/std",
        Group.INTEGER,
        2,
        g -> {
          boolean set = g.random.nextBoolean();
          g.emit(set ? "std" : "cld", Insn.op(set ? 0xFD : 0xFC));
          return true;
        },
        "cld",
        "std");
    add(
        t,
        "lahf/sahf",
        Group.INTEGER,
        2,
        g -> {
          if (g.random.nextBoolean()) {
            if (!g.defined(SF | ZF | AF | PF | CF)) {
              return false;
            }
            g.emit("lahf", Insn.op(0x9F));
          } else {
            g.emit("sahf", Insn.op(0x9E));
            g.flags(SF | ZF | AF | PF | CF, 0);
          }
          return true;
        },
        "lahf",
        "sahf");
  }

  private static boolean group3(Gen g, int ext, String m, int defined, int undefined) {
    int size = g.size();
    g.begin(size);
    Operand operand = ext <= 3 ? g.writableOperand(size) : g.readableOperand(size);
    g.emit(m, Insn.op(size == 1 ? 0xF6 : 0xF7).size(size).reg(ext).rm(operand));
    g.flags(defined, undefined);
    return true;
  }

  /**
   * A division that does not fault (or rarely: the most negative dividend by -1): the dividend's
   * upper half from zero- or sign-extension, an odd divisor.
   */
  private static boolean guardedDivide(Gen g, boolean signed) {
    int size = g.size();
    g.begin(size);
    Operand divisor = g.writableOperand(size);
    if (divisor instanceof Reg r && (r.code() == 0 || r.code() == 2)) {
      return false; // RAX and RDX hold the dividend
    }
    if (divisor instanceof Reg r) {
      g.emit("or", Insn.op(size == 1 ? 0x80 : 0x83).size(size).reg(1).rm(r).imm(1, 1));
    } else {
      g.emit("or", Insn.op(0x80).reg(1).rm(divisor).imm(1, 1));
    }
    if (signed) {
      switch (size) {
        case 1 -> g.emit("cbw", Insn.op(0x98).size(2));
        case 2 -> g.emit("cwd", Insn.op(0x99).size(2));
        case 4 -> g.emit("cdq", Insn.op(0x99));
        default -> g.emit("cqo", Insn.op(0x99).w());
      }
    } else if (size == 1) {
      g.emit("movzx", Insn.op(0x0F, 0xB6).reg(Reg.of(0, 4)).rm(Reg.of(0, 1)));
    } else {
      g.emit("xor", Insn.op(0x31).reg(Reg.of(2, 4)).rm(Reg.of(2, 4)));
    }
    g.emit(
        signed ? "idiv" : "div",
        Insn.op(size == 1 ? 0xF6 : 0xF7).size(size).reg(signed ? 7 : 6).rm(divisor));
    g.flags(0, STATUS);
    return true;
  }

  private static boolean shift(Gen g, int ext, String m) {
    boolean throughCarry = ext == 2 || ext == 3;
    if (throughCarry && !g.defined(CF)) {
      return false;
    }
    int size = g.size();
    g.begin(size);
    int wide = size == 1 ? 0 : 1;
    int mask = size == 8 ? 63 : 31;
    int form = g.random.nextInt(4);
    int count;
    if (form == 3) {
      // Count in CL, unknown to the generator: only what holds for every count is assumed.
      g.emit(m, Insn.op(0xD2 + wide).size(size).reg(ext).rm(g.writableOperand(size)));
      boolean rotate = ext <= 3;
      g.flags(0, rotate ? OF : AF | OF | (size <= 2 ? CF : 0));
      return true;
    }
    Operand operand;
    switch (form) {
      case 0 -> {
        count = g.random.nextInt(4) == 0 ? g.random.nextInt(256) : g.random.nextInt(mask + 1);
        operand = g.writableOperand(size);
        g.emit(m, Insn.op(0xC0 + wide).size(size).reg(ext).rm(operand).imm(count, 1));
      }
      case 1 -> {
        count = 1;
        operand = g.writableOperand(size);
        g.emit(m, Insn.op(0xD0 + wide).size(size).reg(ext).rm(operand));
      }
      default -> {
        count = g.random.nextInt(4) == 0 ? g.random.nextInt(256) : g.random.nextInt(mask + 1);
        g.emit("mov", Insn.op(0xB9).imm(count, 4));
        operand = g.writableOperand(size);
        g.emit(m, Insn.op(0xD2 + wide).size(size).reg(ext).rm(operand));
      }
    }
    int c = count & mask;
    if (c == 0) {
      return true;
    }
    int overflow = c == 1 ? OF : 0;
    int overflowUndefined = c == 1 ? 0 : OF;
    if (ext <= 3) {
      g.flags(CF | overflow, overflowUndefined);
    } else {
      int carryUndefined = c >= size * 8 ? CF : 0;
      g.flags(
          ((SF | ZF | PF | CF) & ~carryUndefined) | overflow,
          AF | overflowUndefined | carryUndefined);
    }
    return true;
  }

  private static boolean doubleShift(Gen g, boolean right, String m) {
    int size = g.wideSize();
    g.beginRex();
    int mask = size == 8 ? 63 : 31;
    int limit = size == 2 ? 16 : mask + 1; // a 16-bit count above 16 leaves the result undefined
    int form = g.random.nextInt(3);
    int base = right ? 0xAC : 0xA4;
    if (form == 2 && size > 2) {
      g.emit(m, Insn.op(0x0F, base + 1).size(size).reg(g.source(size)).rm(g.writableOperand(size)));
      g.flags(0, AF | OF);
      return true;
    }
    int c = g.random.nextInt(limit);
    int count = c + (g.random.nextInt(4) == 0 ? 32 * g.random.nextInt(1, 8) : 0);
    if (size == 8 && count > 63) {
      count = c;
    }
    if (form == 0) {
      g.emit(
          m,
          Insn.op(0x0F, base)
              .size(size)
              .reg(g.source(size))
              .rm(g.writableOperand(size))
              .imm(count, 1));
    } else {
      g.emit("mov", Insn.op(0xB9).imm(count, 4));
      g.emit(m, Insn.op(0x0F, base + 1).size(size).reg(g.source(size)).rm(g.writableOperand(size)));
    }
    int masked = count & mask;
    if (masked != 0) {
      g.flags(SF | ZF | PF | CF | (masked == 1 ? OF : 0), AF | (masked == 1 ? 0 : OF));
    }
    return true;
  }

  private static final String[] STRING_OPS = {"movs", "cmps", "stos", "lods", "scas"};
  private static final int[] STRING_OPCODES = {0xA4, 0xA6, 0xAA, 0xAC, 0xAE};

  private static void strings(List<Template> t) {
    for (int k = 0; k < STRING_OPS.length; k++) {
      int op = STRING_OPCODES[k];
      String m = STRING_OPS[k];
      boolean compares = m.equals("cmps") || m.equals("scas");
      add(
          t,
          m,
          Group.STRING,
          4,
          g -> {
            int size = g.size();
            boolean rep = g.random.nextInt(5) < 3;
            int count = g.random.nextInt(17);
            if (rep) {
              g.emit("mov", Insn.op(0xB9).imm(count, 4));
            }
            g.emit(
                "lea",
                Insn.op(0x8D)
                    .w()
                    .reg(Reg.of(6, 8))
                    .rm(Mem.baseDisp(g.base, g.random.nextInt(-0x200, 0x200))));
            g.emit(
                "lea",
                Insn.op(0x8D)
                    .w()
                    .reg(Reg.of(7, 8))
                    .rm(Mem.baseDisp(g.base, g.random.nextInt(-0x200, 0x200))));
            Insn insn = Insn.op(op + (size == 1 ? 0 : 1));
            int repPrefix = compares && g.random.nextBoolean() ? 0xF2 : 0xF3;
            if (rep && g.random.nextBoolean()) {
              insn.prefix(repPrefix);
              insn.size(size);
            } else {
              insn.size(size);
              if (rep) {
                insn.prefix(repPrefix);
              }
            }
            g.emit(m, insn);
            if (compares && (!rep || count > 0)) {
              g.flags(STATUS, 0);
            }
            return true;
          },
          m,
          "mov",
          "lea");
    }
  }

  private static void control(List<Template> t) {
    add(
        t,
        "jcc over a unit",
        Group.CONTROL,
        6,
        g -> {
          int cc = g.condition();
          if (cc < 0) {
            return false;
          }
          int start = g.mark();
          int before = g.undefinedFlags();
          boolean near = g.random.nextInt(3) == 0;
          if (near) {
            g.emit("jcc", Insn.op(0x0F, 0x80 + cc).imm(0, 4));
          } else {
            g.emit("jcc", Insn.op(0x70 + cc).imm(0, 1));
          }
          int after = g.length();
          g.unit();
          int skipped = g.length() - after;
          if (!near && skipped > 127) {
            g.truncate(start);
            g.setUndefinedFlags(before);
            return false;
          }
          g.patch(after - (near ? 4 : 1), skipped, near ? 4 : 1);
          g.setUndefinedFlags(before | g.undefinedFlags());
          return true;
        },
        "jcc");
    add(
        t,
        "jmp over junk",
        Group.CONTROL,
        2,
        g -> {
          byte[] junk = new byte[g.random.nextInt(17)];
          g.random.nextBytes(junk);
          if (g.random.nextBoolean()) {
            g.emit("jmp", Insn.op(0xEB).imm(junk.length, 1));
          } else {
            g.emit("jmp", Insn.op(0xE9).imm(junk.length, 4));
          }
          g.raw(junk);
          return true;
        },
        "jmp");
    add(
        t,
        "call and ret",
        Group.CONTROL,
        3,
        g -> {
          // call L; jmp over; L: ret   (the return lands on the jmp, which skips the ret)
          g.emit("call", Insn.op(0xE8).imm(2, 4));
          g.emit("jmp", Insn.op(0xEB).imm(1, 1));
          g.emit("ret", Insn.op(0xC3));
          return true;
        },
        "call",
        "jmp",
        "ret");
    add(
        t,
        "indirect jmp or call",
        Group.CONTROL,
        3,
        g -> {
          g.beginRex();
          Reg target = g.destination(8);
          int leaAt = g.length();
          g.emit("lea", Insn.op(0x8D).w().reg(target).rm(Mem.rip(g.pc())));
          int leaEnd = g.length();
          switch (g.random.nextInt(3)) {
            case 0 -> {
              g.emit("jmp", Insn.op(0xFF).reg(4).rm(target));
              byte[] junk = new byte[g.random.nextInt(1, 9)];
              g.random.nextBytes(junk);
              g.raw(junk);
            }
            case 1 -> {
              Mem slot = g.memory(8);
              g.emit("mov", Insn.op(0x89).w().reg(target).rm(slot));
              g.emit("jmp", Insn.op(0xFF).reg(4).rm(slot));
              g.raw(new byte[] {(byte) 0xF4});
            }
            default -> {
              g.emit("call", Insn.op(0xFF).reg(2).rm(target));
              g.emit("jmp", Insn.op(0xEB).imm(1, 1));
              int retAt = g.length();
              g.emit("ret", Insn.op(0xC3));
              g.patch(leaEnd - 4, retAt - leaEnd, 4);
              return true;
            }
          }
          g.patch(leaEnd - 4, g.length() - leaEnd, 4);
          return leaAt >= 0;
        },
        "lea",
        "jmp",
        "call",
        "ret",
        "mov");
  }

  private static void io(List<Template> t) {
    add(
        t,
        "out",
        Group.IO,
        3,
        g -> {
          int size = 1 << g.random.nextInt(3);
          int port = GuestLayout.FIRST_USER_PORT + g.random.nextInt(GuestLayout.USER_PORTS - size);
          if (g.random.nextBoolean()) {
            g.emit("out", Insn.op(size == 1 ? 0xE6 : 0xE7).size(size).imm(port, 1));
          } else {
            g.emit("mov", Insn.op(0xBA).imm(port, 4));
            g.emit("out", Insn.op(size == 1 ? 0xEE : 0xEF).size(size));
          }
          return true;
        },
        "out",
        "mov");
    add(
        t,
        "in",
        Group.IO,
        2,
        g -> {
          int size = 1 << g.random.nextInt(3);
          int port = GuestLayout.FIRST_USER_PORT + g.random.nextInt(GuestLayout.USER_PORTS - size);
          if (g.random.nextBoolean()) {
            g.emit("in", Insn.op(size == 1 ? 0xE4 : 0xE5).size(size).imm(port, 1));
          } else {
            g.emit("mov", Insn.op(0xBA).imm(port, 4));
            g.emit("in", Insn.op(size == 1 ? 0xEC : 0xED).size(size));
          }
          return true;
        },
        "in",
        "mov");
  }

  private static void faults(List<Template> t) {
    add(t, "ud2", Group.FAULT, 1, g -> emit(g, "ud2", Insn.op(0x0F, 0x0B)), "ud2");
    add(t, "int3", Group.FAULT, 1, g -> emit(g, "int3", Insn.op(0xCC)), "int3");
    add(t, "hlt", Group.FAULT, 1, g -> emit(g, "hlt", Insn.op(0xF4)), "hlt");
    add(t, "cli", Group.FAULT, 1, g -> emit(g, "cli", Insn.op(0xFA)), "cli");
    add(
        t,
        "mov to cr3",
        Group.FAULT,
        1,
        g -> emit(g, "mov cr", Insn.op(0x0F, 0x22).reg(3).rm(Reg.of(0, 8))),
        "mov cr");
    add(
        t,
        "out to a denied port",
        Group.FAULT,
        1,
        g -> emit(g, "out", Insn.op(0xE6).imm(GuestLayout.DENIED_PORT, 1)),
        "out");
    add(
        t,
        "load from an unmapped page",
        Group.FAULT,
        1,
        g -> {
          g.beginRex();
          return emit(
              g,
              "mov",
              Insn.op(0x8B)
                  .w()
                  .reg(g.destination(8))
                  .rm(Mem.rip(GuestLayout.NOT_MAPPED + 8 * g.random.nextInt(512))));
        },
        "mov");
    add(
        t,
        "load from a supervisor page",
        Group.FAULT,
        1,
        g -> {
          g.beginRex();
          return emit(
              g,
              "mov",
              Insn.op(0x8B)
                  .reg(g.destination(4))
                  .rm(Mem.rip(GuestLayout.SUPERVISOR_PAGE + 4 * g.random.nextInt(1024))));
        },
        "mov");
    add(
        t,
        "store to a read-only page",
        Group.FAULT,
        1,
        g -> {
          g.beginRex();
          return emit(
              g,
              "mov",
              Insn.op(0x89)
                  .reg(g.source(4))
                  .rm(Mem.rip(GuestLayout.READ_ONLY + 4 * g.random.nextInt(1024))));
        },
        "mov");
    add(
        t,
        "load from a read-only page",
        Group.FAULT,
        1,
        g -> {
          g.beginRex();
          return emit(
                  g,
                  "add",
                  Insn.op(0x03)
                      .w()
                      .reg(g.destination(8))
                      .rm(Mem.rip(GuestLayout.READ_ONLY + 8 * g.random.nextInt(512))))
              && flagsAll(g);
        },
        "add");
    add(
        t,
        "non-canonical access",
        Group.FAULT,
        1,
        g -> {
          g.beginRex();
          Reg pointer = g.destination(8);
          g.emit(
              "mov",
              Insn.op(0xB8)
                  .w()
                  .plus(pointer)
                  .imm(0x8000_0000_0000_0000L | g.random.nextLong() >>> 20, 8));
          return emit(
              g, "mov", Insn.op(0x8B).reg(g.destination(4)).rm(Mem.baseDisp(pointer.code(), 0)));
        },
        "mov");
    add(
        t,
        "jump to a no-execute page",
        Group.FAULT,
        1,
        g -> {
          g.beginRex();
          Reg target = g.destination(8);
          g.emit("lea", Insn.op(0x8D).w().reg(target).rm(Mem.rip(g.baseValue)));
          return emit(g, "jmp", Insn.op(0xFF).reg(4).rm(target));
        },
        "lea",
        "jmp");
  }

  private static boolean emit(Gen g, String mnemonic, Insn insn) {
    g.emit(mnemonic, insn);
    return true;
  }

  private static boolean flagsAll(Gen g) {
    g.flags(STATUS, 0);
    return true;
  }
}
