package dev.glint.cli.internal.args;

import dev.glint.sandbox.GuestFunction;
import dev.glint.sandbox.ValueType;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Turns command-line words into the Java values of a guest function's parameters.
 *
 * <p>A word is {@code TYPE:VALUE} or a bare {@code VALUE}. The function's signature (from the
 * guest's own table) gives each parameter's type, so a bare value is read as that type, and a typed
 * one must name it. Types and values:
 *
 * <ul>
 *   <li>{@code i32:-5}, {@code u32:4000000000}, {@code i64:..}, {@code u64:..}: decimal, or hex
 *       with {@code 0x}; range-checked
 *   <li>{@code f32:1.5}, {@code f64:-2e10}: also {@code nan}, {@code inf}, {@code -inf}
 *   <li>{@code bool:true}, {@code bool:false}
 *   <li>{@code str:hello} (or {@code string:}): the text as it is
 *   <li>{@code bytes:@FILE} (a file's contents; {@code @-} for standard input), {@code
 *       bytes:hex:00ff}, {@code bytes:base64:AP8=}, or {@code bytes:TEXT} (its UTF-8)
 * </ul>
 *
 * <p>A string that itself starts with a type name and a colon needs the prefix: {@code str:i32:5}.
 */
public final class GuestArguments {
  private static final Map<String, ValueType<?>> PREFIXES =
      Map.ofEntries(
          Map.entry("i32", ValueType.I32),
          Map.entry("u32", ValueType.U32),
          Map.entry("i64", ValueType.I64),
          Map.entry("u64", ValueType.U64),
          Map.entry("f32", ValueType.F32),
          Map.entry("f64", ValueType.F64),
          Map.entry("bool", ValueType.BOOL),
          Map.entry("str", ValueType.STRING),
          Map.entry("string", ValueType.STRING),
          Map.entry("bytes", ValueType.BYTES));

  private static final BigInteger TWO_TO_64 = BigInteger.ONE.shiftLeft(64);

  private GuestArguments() {}

  /**
   * Reads {@code words} as the arguments of {@code function}.
   *
   * @param function the function, as the guest's table declares it
   * @param words one word per parameter
   * @param stdin read for {@code bytes:@-}
   * @return one Java value per parameter, of the parameter's Java type
   * @throws ArgumentException if the count, a type or a value is wrong; the message names the
   *     argument, the signature and what to write instead
   */
  public static List<Object> parse(GuestFunction function, List<String> words, InputStream stdin)
      throws ArgumentException {
    List<ValueType<?>> parameters = function.parameterTypes();
    if (words.size() != parameters.size()) {
      throw new ArgumentException(
          "%s takes %s, but %s given%s"
              .formatted(
                  function,
                  count(parameters.size()),
                  words.isEmpty()
                      ? "none was"
                      : count(words.size()) + (words.size() == 1 ? " was" : " were"),
                  parameters.isEmpty() ? "" : "; write them as " + example(parameters)));
    }
    List<Object> values = new ArrayList<>(words.size());
    for (int i = 0; i < words.size(); i++) {
      values.add(parse(function, i, words.get(i), stdin));
    }
    return values;
  }

  private static Object parse(GuestFunction function, int index, String word, InputStream stdin)
      throws ArgumentException {
    ValueType<?> expected = function.parameterTypes().get(index);
    String value = word;
    int colon = word.indexOf(':');
    if (colon > 0) {
      ValueType<?> named = PREFIXES.get(word.substring(0, colon).toLowerCase(Locale.ROOT));
      if (named != null) {
        if (named != expected) {
          throw new ArgumentException(
              "argument %d of %s is %s, but '%s' is %s; write %s:VALUE, or the value alone"
                  .formatted(
                      index + 1,
                      function,
                      article(expected),
                      word,
                      article(named),
                      prefix(expected)));
        }
        value = word.substring(colon + 1);
      }
    }
    try {
      return read(expected, value, stdin);
    } catch (NumberFormatException e) {
      throw new ArgumentException(
          "argument %d of %s: '%s' is not %s%s"
              .formatted(index + 1, function, value, article(expected), range(expected)));
    } catch (IllegalArgumentException | IOException e) {
      throw new ArgumentException(
          "argument %d of %s: %s".formatted(index + 1, function, e.getMessage()));
    }
  }

  private static Object read(ValueType<?> type, String value, InputStream stdin)
      throws IOException {
    if (type == ValueType.I32) {
      return (int)
          integer(
              value, BigInteger.valueOf(Integer.MIN_VALUE), BigInteger.valueOf(Integer.MAX_VALUE));
    } else if (type == ValueType.U32) {
      return (int) integer(value, BigInteger.ZERO, BigInteger.valueOf(0xFFFF_FFFFL));
    } else if (type == ValueType.I64) {
      return integer(value, BigInteger.valueOf(Long.MIN_VALUE), BigInteger.valueOf(Long.MAX_VALUE));
    } else if (type == ValueType.U64) {
      return integer(value, BigInteger.ZERO, TWO_TO_64.subtract(BigInteger.ONE));
    } else if (type == ValueType.F32) {
      return (float) floating(value);
    } else if (type == ValueType.F64) {
      return floating(value);
    } else if (type == ValueType.BOOL) {
      return switch (value.toLowerCase(Locale.ROOT)) {
        case "true" -> true;
        case "false" -> false;
        default ->
            throw new IllegalArgumentException(
                "'%s' is not a bool; write true or false".formatted(value));
      };
    } else if (type == ValueType.STRING) {
      return value;
    } else if (type == ValueType.BYTES) {
      return bytes(value, stdin);
    }
    throw new IllegalArgumentException("a parameter cannot be of type " + type);
  }

  /** {@return the bits of an integer within [min, max], decimal or 0x-hex} */
  private static long integer(String text, BigInteger min, BigInteger max) {
    String digits = text.strip().replace("_", "");
    boolean negative = digits.startsWith("-");
    if (negative || digits.startsWith("+")) {
      digits = digits.substring(1);
    }
    int radix = 10;
    if (digits.startsWith("0x") || digits.startsWith("0X")) {
      digits = digits.substring(2);
      radix = 16;
    }
    if (digits.isEmpty() || digits.startsWith("-") || digits.startsWith("+")) {
      throw new NumberFormatException(text);
    }
    BigInteger value = new BigInteger(digits, radix);
    if (negative) {
      value = value.negate();
    }
    if (value.compareTo(min) < 0 || value.compareTo(max) > 0) {
      throw new NumberFormatException(text);
    }
    return value.longValue(); // for u64 above Long.MAX_VALUE: the same 64 bits, read unsigned
  }

  private static double floating(String text) {
    return switch (text.strip().toLowerCase(Locale.ROOT)) {
      case "nan" -> Double.NaN;
      case "inf", "+inf", "infinity", "+infinity" -> Double.POSITIVE_INFINITY;
      case "-inf", "-infinity" -> Double.NEGATIVE_INFINITY;
      default -> {
        String t = text.strip();
        // Java would also take "1.5f" or "1d"; a shell user means neither.
        if (t.isEmpty() || Character.isLetter(t.charAt(t.length() - 1))) {
          throw new NumberFormatException(text);
        }
        yield Double.parseDouble(t);
      }
    };
  }

  private static byte[] bytes(String value, InputStream stdin) throws IOException {
    if (value.equals("@-")) {
      return stdin.readAllBytes();
    }
    if (value.startsWith("@")) {
      Path file = Path.of(value.substring(1));
      try {
        return Files.readAllBytes(file);
      } catch (IOException e) {
        throw new IOException(
            "cannot read the file '%s' (%s)".formatted(file, e.getClass().getSimpleName()), e);
      }
    }
    if (value.startsWith("hex:")) {
      String hex = value.substring(4).replaceAll("[\\s:_]", "");
      try {
        return HexFormat.of().parseHex(hex);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "'%s' is not hex: write pairs of hex digits, such as hex:00ff10".formatted(value));
      }
    }
    if (value.startsWith("base64:")) {
      try {
        return Base64.getDecoder().decode(value.substring(7));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "'%s' is not base64: %s".formatted(value, e.getMessage()));
      }
    }
    return value.getBytes(StandardCharsets.UTF_8);
  }

  private static String count(int n) {
    return n == 1 ? "1 argument" : n + " arguments";
  }

  private static String example(List<ValueType<?>> parameters) {
    return String.join(" ", parameters.stream().map(t -> prefix(t) + ":VALUE").toList());
  }

  /** {@return the prefix for {@code type}: "str" for strings, its ABI name otherwise} */
  static String prefix(ValueType<?> type) {
    return type == ValueType.STRING ? "str" : type.abiName();
  }

  private static String article(ValueType<?> type) {
    String name = type.abiName();
    return (name.startsWith("i") || name.startsWith("u") || name.startsWith("f") ? "an " : "a ")
        + name;
  }

  private static String range(ValueType<?> type) {
    if (type == ValueType.I32) {
      return " (-2147483648 to 2147483647)";
    } else if (type == ValueType.U32) {
      return " (0 to 4294967295)";
    } else if (type == ValueType.I64) {
      return " (-9223372036854775808 to 9223372036854775807)";
    } else if (type == ValueType.U64) {
      return " (0 to 18446744073709551615)";
    } else if (type == ValueType.F32 || type == ValueType.F64) {
      return " (a number such as 1.5, -2e10, nan or inf)";
    }
    return "";
  }
}
