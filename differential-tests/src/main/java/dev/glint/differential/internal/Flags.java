package dev.glint.differential.internal;

import java.util.ArrayList;
import java.util.List;

/** RFLAGS bits the generator tracks, and the flags each condition code reads. */
public final class Flags {
  private Flags() {}

  /** Carry. */
  public static final int CF = 1;

  /** Parity. */
  public static final int PF = 1 << 2;

  /** Auxiliary carry. */
  public static final int AF = 1 << 4;

  /** Zero. */
  public static final int ZF = 1 << 6;

  /** Sign. */
  public static final int SF = 1 << 7;

  /** Direction. */
  public static final int DF = 1 << 10;

  /** Overflow. */
  public static final int OF = 1 << 11;

  /** The six status flags arithmetic sets. */
  public static final int STATUS = CF | PF | AF | ZF | SF | OF;

  /** The flags compared between backends when every one is defined: status flags and DF. */
  public static final int COMPARED = STATUS | DF;

  /** {@return the flags condition code {@code cc} (0..15, as in Jcc/SETcc/CMOVcc) reads} */
  public static int readBy(int cc) {
    return switch (cc >> 1) {
      case 0 -> OF;
      case 1 -> CF;
      case 2 -> ZF;
      case 3 -> CF | ZF;
      case 4 -> SF;
      case 5 -> PF;
      case 6 -> SF | OF;
      default -> ZF | SF | OF;
    };
  }

  /** {@return the names of the flags in {@code mask}, such as "CF ZF"} */
  public static String names(long mask) {
    List<String> names = new ArrayList<>();
    String[] all = {"CF", "PF", "AF", "ZF", "SF", "DF", "OF"};
    int[] bits = {CF, PF, AF, ZF, SF, DF, OF};
    for (int i = 0; i < bits.length; i++) {
      if ((mask & bits[i]) != 0) {
        names.add(all[i]);
      }
    }
    return names.isEmpty() ? "none" : String.join(" ", names);
  }
}
