package dev.glint.sandbox;

import java.util.List;
import java.util.Objects;

/**
 * A type of the guest ABI's wire format, with the Java type that represents its values. The set is
 * closed: the constants below are the only instances, so {@code ==} compares them.
 *
 * <table class="striped">
 *   <caption>Java representation</caption>
 *   <thead><tr><th>ABI type</th><th>constant</th><th>Java type</th></tr></thead>
 *   <tbody>
 *     <tr><td>void</td><td>{@link #VOID}</td><td>{@code Void} (always {@code null})</td></tr>
 *     <tr><td>i32</td><td>{@link #I32}</td><td>{@code Integer}</td></tr>
 *     <tr><td>u32</td><td>{@link #U32}</td><td>{@code Integer}, read as unsigned ({@link
 *         Integer#toUnsignedLong})</td></tr>
 *     <tr><td>i64</td><td>{@link #I64}</td><td>{@code Long}</td></tr>
 *     <tr><td>u64</td><td>{@link #U64}</td><td>{@code Long}, read as unsigned ({@link
 *         Long#toUnsignedString})</td></tr>
 *     <tr><td>f32</td><td>{@link #F32}</td><td>{@code Float} (NaN payloads preserved)</td></tr>
 *     <tr><td>f64</td><td>{@link #F64}</td><td>{@code Double} (NaN payloads preserved)</td></tr>
 *     <tr><td>bool</td><td>{@link #BOOL}</td><td>{@code Boolean}</td></tr>
 *     <tr><td>string</td><td>{@link #STRING}</td><td>{@code String} (UTF-8 on the wire)</td></tr>
 *     <tr><td>bytes</td><td>{@link #BYTES}</td><td>{@code byte[]}</td></tr>
 *   </tbody>
 * </table>
 *
 * <p>Immutable and thread-safe.
 *
 * @param <T> the Java type of the values
 */
public final class ValueType<T> {
  /** No value; for return types only. */
  public static final ValueType<Void> VOID = new ValueType<>("void", 0, Void.class);

  /** A signed 32-bit integer. */
  public static final ValueType<Integer> I32 = new ValueType<>("i32", 1, Integer.class);

  /** An unsigned 32-bit integer, held in an {@code int} with the same bits. */
  public static final ValueType<Integer> U32 = new ValueType<>("u32", 2, Integer.class);

  /** A signed 64-bit integer. */
  public static final ValueType<Long> I64 = new ValueType<>("i64", 3, Long.class);

  /** An unsigned 64-bit integer, held in a {@code long} with the same bits. */
  public static final ValueType<Long> U64 = new ValueType<>("u64", 4, Long.class);

  /** An IEEE 754 binary32 float. */
  public static final ValueType<Float> F32 = new ValueType<>("f32", 5, Float.class);

  /** An IEEE 754 binary64 float. */
  public static final ValueType<Double> F64 = new ValueType<>("f64", 6, Double.class);

  /** A boolean. */
  public static final ValueType<Boolean> BOOL = new ValueType<>("bool", 7, Boolean.class);

  /** A string of Unicode text, UTF-8 on the wire. */
  public static final ValueType<String> STRING = new ValueType<>("string", 8, String.class);

  /** A byte array. */
  public static final ValueType<byte[]> BYTES = new ValueType<>("bytes", 9, byte[].class);

  private static final List<ValueType<?>> ALL =
      List.of(VOID, I32, U32, I64, U64, F32, F64, BOOL, STRING, BYTES);

  private final String name;
  private final int tag;
  private final Class<T> javaType;

  private ValueType(String name, int tag, Class<T> javaType) {
    this.name = name;
    this.tag = tag;
    this.javaType = javaType;
  }

  /** {@return every type, in tag order} */
  public static List<ValueType<?>> values() {
    return ALL;
  }

  /**
   * {@return the type with ABI tag {@code tag}}
   *
   * @param tag the one-byte tag, 0..9
   * @throws IllegalArgumentException if no type has it (tags are 0..9)
   */
  public static ValueType<?> ofTag(int tag) {
    if (tag < 0 || tag >= ALL.size()) {
      throw new IllegalArgumentException("value type tag %d must be 0..9".formatted(tag));
    }
    return ALL.get(tag);
  }

  /** {@return the ABI's name, such as "i32"} */
  public String abiName() {
    return name;
  }

  /** {@return the ABI's one-byte tag} */
  public int tag() {
    return tag;
  }

  /** {@return the Java class of the values} */
  public Class<T> javaType() {
    return javaType;
  }

  /**
   * {@return whether {@code value} is a Java value of this type (for void: null)}
   *
   * @param value any value, or null
   */
  public boolean isInstance(Object value) {
    return this == VOID ? value == null : javaType.isInstance(value);
  }

  /**
   * {@return {@code value} as this type's Java type}
   *
   * @param value a value of this type
   * @throws ClassCastException if it is not one ({@link #isInstance} is false)
   */
  public T cast(Object value) {
    if (!isInstance(value)) {
      throw new ClassCastException(
          "%s is not a %s value (%s)"
              .formatted(Objects.toString(value), name, javaType.getSimpleName()));
    }
    return javaType.cast(value);
  }

  /** {@return the ABI's name} */
  @Override
  public String toString() {
    return name;
  }
}
