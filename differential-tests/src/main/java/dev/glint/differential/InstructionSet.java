package dev.glint.differential;

import java.util.Set;
import java.util.function.Predicate;

/**
 * Which instructions a backend implements, as mnemonics of {@link CaseGenerator#mnemonics()}: the
 * generator draws only from these, so a differential run tests what the backend claims to do rather
 * than its {@code #UD} for what it does not.
 */
public final class InstructionSet {
  private InstructionSet() {}

  /**
   * {@return the mnemonics backend {@code name} implements}: every mnemonic for a hardware backend
   * (the CPU runs them all)
   */
  public static Predicate<String> implementedBy(String name) {
    return mnemonic -> true;
  }

  /** {@return every mnemonic the generator knows} */
  public static Set<String> all() {
    return CaseGenerator.mnemonics();
  }
}
