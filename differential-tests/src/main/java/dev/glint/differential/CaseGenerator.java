package dev.glint.differential;

import dev.glint.differential.internal.Templates;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;

/**
 * Generates random {@link TestCase}s: sequences of 1 to {@code maxInstructions} units drawn from
 * instruction templates (integer ALU at every operand size including AH..BH, shifts and rotates,
 * multiply and divide, bit operations, moves and extensions, {@code lea}, {@code cmovcc} and {@code
 * setcc}, {@code xchg}, stack operations, string instructions with {@code rep}, conditional and
 * indirect jumps, calls, port I/O, SSE2 moves, integer, logic and floating-point operations, and
 * instructions that fault), each ending with {@code out 0x1f, al}.
 *
 * <p>A unit is usually one instruction; some add a short setup (a count in ECX, pointers in RSI and
 * RDI, a dividend's upper half) so that the instruction under test does something meaningful. Flags
 * the architecture leaves undefined are tracked: no later instruction reads them, and they are left
 * out of the final comparison.
 *
 * <p>Thread-safe and deterministic: case {@code i} of seed {@code s} is the same on every call and
 * every machine (for the same set of templates).
 */
public final class CaseGenerator {
  private final Generator generator;

  /**
   * Creates a generator.
   *
   * @param implemented which mnemonics may be generated (see {@link #mnemonics()}); a template is
   *     used only if every mnemonic it emits passes
   * @param sse whether SSE instructions may be generated (both backends must give the XMM state)
   * @param maxInstructions the most units in one case, at least 1
   * @throws IllegalArgumentException if {@code maxInstructions} is below 1 or no template passes
   */
  public CaseGenerator(Predicate<String> implemented, boolean sse, int maxInstructions) {
    this.generator = new Generator(implemented, sse, maxInstructions);
  }

  /** {@return case {@code index} of the run with {@code seed}} */
  public TestCase generate(long seed, int index) {
    return generator.generate(seed, index);
  }

  /** {@return every mnemonic some template can emit, sorted} */
  public static Set<String> mnemonics() {
    Set<String> all = new TreeSet<>();
    Templates.all().forEach(t -> all.addAll(t.mnemonics()));
    return Collections.unmodifiableSet(all);
  }

  /** {@return the mnemonics this generator emits, sorted} */
  public Set<String> usedMnemonics() {
    Set<String> used = new TreeSet<>();
    generator.templates().forEach(t -> used.addAll(t.mnemonics()));
    return Collections.unmodifiableSet(used);
  }

  /** {@return the names of the templates this generator uses} */
  public List<String> templateNames() {
    return generator.templates().stream().map(Templates.Template::name).toList();
  }
}
