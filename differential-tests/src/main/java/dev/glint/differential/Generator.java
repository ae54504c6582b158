package dev.glint.differential;

import dev.glint.differential.internal.Flags;
import dev.glint.differential.internal.Gen;
import dev.glint.differential.internal.GuestLayout;
import dev.glint.differential.internal.Insn;
import dev.glint.differential.internal.Operand;
import dev.glint.differential.internal.Registers64;
import dev.glint.differential.internal.Templates;
import dev.glint.differential.internal.Values;
import dev.glint.hv.Register;
import dev.glint.hv.Registers;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Predicate;

/**
 * Builds {@link TestCase}s from the {@link Templates}: a few units of random instructions, then
 * {@code out 0x1f, al}. Thread-safe: each case has its own random source, derived from the seed and
 * the case's index, so any case can be generated alone.
 */
final class Generator {
  private final Pool plain;
  private final Pool withSse;
  private final int maxUnits;

  /**
   * Creates a generator.
   *
   * @param implemented which mnemonics may be generated; a template is used only if all of its
   *     mnemonics pass
   * @param sse whether SSE templates may be used
   * @param maxUnits the most units in a case (at least 1)
   */
  public Generator(Predicate<String> implemented, boolean sse, int maxUnits) {
    if (maxUnits < 1) {
      throw new IllegalArgumentException("maxUnits %d must be at least 1".formatted(maxUnits));
    }
    List<Templates.Template> usable =
        Templates.all().stream().filter(t -> t.mnemonics().stream().allMatch(implemented)).toList();
    this.plain = new Pool(usable.stream().filter(t -> t.group() != Templates.Group.SSE).toList());
    boolean frame = SSE_FRAME.stream().allMatch(implemented);
    List<Templates.Template> sseTemplates =
        usable.stream().filter(t -> t.group() == Templates.Group.SSE).toList();
    this.withSse = sse && frame && !sseTemplates.isEmpty() ? new Pool(usable) : null;
    if (plain.templates.isEmpty()) {
      throw new IllegalArgumentException("no template's instructions are all implemented");
    }
    this.maxUnits = maxUnits;
  }

  /** The mnemonics of an SSE case's prologue and epilogue. */
  static final List<String> SSE_FRAME = List.of("movdqu", "ldmxcsr", "stmxcsr");

  /** Templates to draw from, with their total weights. */
  private record Pool(
      List<Templates.Template> templates,
      List<Templates.Template> nested,
      int weight,
      int nestedWeight) {
    Pool(List<Templates.Template> templates) {
      this(templates, templates.stream().filter(t -> !t.name().startsWith("jcc")).toList());
    }

    Pool(List<Templates.Template> templates, List<Templates.Template> nested) {
      this(templates, nested, weight(templates), weight(nested));
    }

    static int weight(List<Templates.Template> templates) {
      return templates.stream().mapToInt(Templates.Template::weight).sum();
    }
  }

  /** {@return the templates in use} */
  public List<Templates.Template> templates() {
    return withSse != null ? withSse.templates : plain.templates;
  }

  /** {@return case {@code index} of the run with {@code seed}} */
  public TestCase generate(long seed, int index) {
    SplittableRandom random = new SplittableRandom(mix(seed, index));
    boolean sse = withSse != null && random.nextInt(3) == 0;
    Pool pool = sse ? withSse : plain;
    Gen g = new Gen(random, GuestLayout.CODE, sse);
    g.setUnitEmitter(() -> emitUnit(g, pool.nested, pool.nestedWeight));
    if (sse) {
      // Prologue: XMM0..15 and MXCSR from the XMM area (the host cannot set them on every backend).
      for (int x = 0; x < 16; x++) {
        g.emit(
            "movdqu",
            Insn.op(0x0F, 0x6F)
                .prefix(0xF3)
                .regXmm(x)
                .rm(Operand.Mem.rip(GuestLayout.XMM_AREA + 16L * x)));
      }
      g.emit("ldmxcsr", Insn.op(0x0F, 0xAE).reg(2).rm(Operand.Mem.rip(GuestLayout.MXCSR_SLOT)));
    }
    int units = 1 + random.nextInt(maxUnits);
    for (int i = 0; i < units && g.length() < GuestLayout.CODE_SIZE - 512; i++) {
      emitUnit(g, pool.templates, pool.weight);
    }
    if (sse) {
      // Epilogue: XMM0..15 and MXCSR back to the XMM area, where the host reads them.
      for (int x = 0; x < 16; x++) {
        g.emit(
            "movdqu",
            Insn.op(0x0F, 0x7F)
                .prefix(0xF3)
                .regXmm(x)
                .rm(Operand.Mem.rip(GuestLayout.XMM_AREA + 16L * x)));
      }
      g.emit("stmxcsr", Insn.op(0x0F, 0xAE).reg(3).rm(Operand.Mem.rip(GuestLayout.MXCSR_SLOT)));
    }
    g.emit("out", Insn.op(0xE6).imm(GuestLayout.DONE_PORT, 1));
    byte[] code = g.code();

    long[] values = new long[Register.values().length];
    for (int i = 0; i < 16; i++) {
      values[i] = Values.word(random);
    }
    values[Registers64.spi(g.base).ordinal()] = g.baseValue;
    values[Registers64.spi(g.index).ordinal()] = g.indexValue;
    values[Register.RSP.ordinal()] = GuestLayout.STACK + 0x800 + 16L * (random.nextInt(17) - 8);
    values[Register.RIP.ordinal()] = GuestLayout.CODE;
    long flags = Registers.RFLAGS_RESERVED | (random.nextLong() & Flags.STATUS);
    if (random.nextInt(4) == 0) {
      flags |= Flags.DF;
    }
    values[Register.RFLAGS.ordinal()] = flags;
    return new TestCase(
        "seed 0x%x case %d".formatted(seed, index),
        code,
        Registers.fromArray(values),
        random.nextLong(),
        sse,
        Flags.COMPARED & ~g.undefinedFlags(),
        g.mnemonics());
  }

  private static void emitUnit(Gen g, List<Templates.Template> from, int weight) {
    for (int attempt = 0; attempt < 50; attempt++) {
      int pick = g.random.nextInt(weight);
      for (Templates.Template t : from) {
        pick -= t.weight();
        if (pick < 0) {
          if (t.body().emit(g)) {
            return;
          }
          break;
        }
      }
    }
  }

  /** {@return a well-mixed seed for case {@code index} (SplitMix64's finalizer)} */
  static long mix(long seed, int index) {
    long z = seed + 0x9E37_79B9_7F4A_7C15L * (index + 1L);
    z = (z ^ (z >>> 30)) * 0xBF58_476D_1CE4_E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D0_49BB_1331_11EBL;
    return z ^ (z >>> 31);
  }
}
