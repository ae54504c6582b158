package dev.glint.differential;

import dev.glint.x86.decoder.CpuMode;
import dev.glint.x86.decoder.DecodeException;
import dev.glint.x86.decoder.Decoder;
import dev.glint.x86.decoder.InstructionTable;
import dev.glint.x86.decoder.Mnemonic;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Which instructions a backend implements: the generator draws only from these, so a differential
 * run tests what the backend claims to do rather than its {@code #UD} for what it does not.
 *
 * <p>Two filters: by mnemonic (a template is used only if every mnemonic it emits passes), and by
 * encoding (each instruction a template emits must decode; if one does not, the unit is drawn
 * again). For the emulated backend both come from the shared decoder's {@link InstructionTable},
 * the one table of implemented instructions, so the generator follows the emulator as it grows.
 * Immutable and thread-safe.
 */
public final class InstructionSet {
  private final String name;
  private final Predicate<String> mnemonics;
  private final Predicate<byte[]> encodings;

  private InstructionSet(String name, Predicate<String> mnemonics, Predicate<byte[]> encodings) {
    this.name = name;
    this.mnemonics = mnemonics;
    this.encodings = encodings;
  }

  /** {@return every instruction the generator knows: a hardware backend runs them all} */
  public static InstructionSet all() {
    return new InstructionSet("all", mnemonic -> true, encoding -> true);
  }

  /** {@return the instructions of the emulator's table} */
  public static InstructionSet emulated() {
    Set<String> names = new HashSet<>();
    for (Mnemonic mnemonic : InstructionTable.mnemonics()) {
      names.add(mnemonic.name().toLowerCase(Locale.ROOT));
    }
    // The table names families by one mnemonic and carries the size in the operand size.
    if (names.contains("cbw")) {
      names.addAll(Set.of("cwde", "cdqe"));
    }
    if (names.contains("cwd")) {
      names.addAll(Set.of("cdq", "cqo"));
    }
    if (InstructionTable.entries().stream()
        .anyMatch(e -> e.mnemonic() == Mnemonic.MOV && e.opcode().startsWith("0F 22"))) {
      names.add("mov cr");
    }
    return new InstructionSet("emulated", names::contains, InstructionSet::decodes);
  }

  /** {@return the instruction set of backend {@code backend}: the table's for the emulator} */
  public static InstructionSet of(String backend) {
    return backend.equals("emulated") ? emulated() : all();
  }

  /**
   * {@return a set limited to {@code mnemonics}, with this set's encodings}
   *
   * @param allowed the mnemonics to keep
   */
  public InstructionSet only(Set<String> allowed) {
    return new InstructionSet(
        name + " " + allowed, m -> allowed.contains(m) && mnemonics.test(m), encodings);
  }

  private static boolean decodes(byte[] encoding) {
    try {
      Decoder.decode(encoding, 0, encoding.length, CpuMode.LONG_64);
      return true;
    } catch (DecodeException e) {
      return false;
    }
  }

  /** {@return whether the set has {@code mnemonic}} */
  public boolean has(String mnemonic) {
    return mnemonics.test(mnemonic);
  }

  /** {@return whether the set has the instruction encoded by {@code encoding}} */
  public boolean accepts(byte[] encoding) {
    return encodings.test(encoding);
  }

  /** {@return every mnemonic the generator knows} */
  public static Set<String> known() {
    return CaseGenerator.mnemonics();
  }

  @Override
  public String toString() {
    return name;
  }
}
