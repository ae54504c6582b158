package dev.glint.sandbox.internal.wire;

/**
 * The value types of the wire format (ABI §7.2), with their tags. The Java representation of a
 * value of each type is fixed: {@link #javaClass()}.
 */
public enum WireType {
  VOID(0, "void", Void.class),
  I32(1, "i32", Integer.class),
  U32(2, "u32", Integer.class),
  I64(3, "i64", Long.class),
  U64(4, "u64", Long.class),
  F32(5, "f32", Float.class),
  F64(6, "f64", Double.class),
  BOOL(7, "bool", Boolean.class),
  STRING(8, "string", String.class),
  BYTES(9, "bytes", byte[].class);

  private static final WireType[] BY_TAG = values();

  private final int tag;
  private final String abiName;
  private final Class<?> javaClass;

  WireType(int tag, String abiName, Class<?> javaClass) {
    this.tag = tag;
    this.abiName = abiName;
    this.javaClass = javaClass;
  }

  /** {@return the one-byte tag} */
  public int tag() {
    return tag;
  }

  /** {@return the ABI's name, such as "i32"} */
  public String abiName() {
    return abiName;
  }

  /** {@return the class of this type's Java values ({@code Void} for void: always null)} */
  public Class<?> javaClass() {
    return javaClass;
  }

  /** {@return whether {@code value} is a Java value of this type} */
  public boolean accepts(Object value) {
    return this == VOID ? value == null : javaClass.isInstance(value);
  }

  /**
   * {@return the type with tag {@code tag}}
   *
   * @throws WireFormatException if no type has that tag
   */
  public static WireType ofTag(int tag) {
    if (tag < 0 || tag >= BY_TAG.length) {
      throw new WireFormatException("unknown value type tag %d (tags are 0..9)".formatted(tag));
    }
    return BY_TAG[tag];
  }

  @Override
  public String toString() {
    return abiName;
  }
}
