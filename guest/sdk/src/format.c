/*
 * format.c - glint_vsnprintf: printf-style formatting into a buffer.
 *
 * Built like the rest of the SDK with general-purpose registers only: %f formats the double's bit
 * pattern with integer arithmetic. KVM's instruction emulator, which runs CPL-0 guest code on PVM
 * hosts, stops the VM at SSE instructions such as pxor, so the SDK executes none.
 */
#include "internal.h"

typedef struct out {
  char *buf;
  size_t size; /* capacity including the NUL */
  size_t len;  /* length the full output would have */
} out;

static void put(out *o, char c) {
  if (o->size && o->len < o->size - 1) o->buf[o->len] = c;
  o->len++;
}

static void put_n(out *o, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) put(o, s[i]);
}

static void pad(out *o, char c, int n) {
  while (n-- > 0) put(o, c);
}

typedef struct spec {
  bool left, zero, plus, space, alt;
  int width;     /* -1: none */
  int precision; /* -1: none */
} spec;

/* Emits sign/prefix, digits and padding of one converted number. */
static void emit_number(out *o, const spec *sp, const char *prefix, const char *digits,
                        int ndigits) {
  int plen = (int)GLINT_LIBC(strlen)(prefix);
  int zeros = sp->precision > ndigits ? sp->precision - ndigits : 0;
  int body = plen + zeros + ndigits;
  int fill = sp->width > body ? sp->width - body : 0;
  /* The 0 flag pads between prefix and digits, and is ignored with - or an explicit precision. */
  bool zero_pad = sp->zero && !sp->left && sp->precision < 0;
  if (!sp->left && !zero_pad) pad(o, ' ', fill);
  put_n(o, prefix, (size_t)plen);
  if (zero_pad) pad(o, '0', fill);
  pad(o, '0', zeros);
  put_n(o, digits, (size_t)ndigits);
  if (sp->left) pad(o, ' ', fill);
}

static void format_unsigned(out *o, const spec *sp, uint64_t v, unsigned base, bool upper,
                            bool negative, bool is_signed, bool pointer) {
  char digits[24];
  int n = 0;
  const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  /* Precision 0 with value 0 prints no digits, as C specifies. */
  if (!(v == 0 && sp->precision == 0)) {
    do {
      digits[sizeof digits - 1 - n++] = set[v % base];
      v /= base;
    } while (v);
  }
  char prefix[4] = {0};
  int p = 0;
  if (negative) {
    prefix[p++] = '-';
  } else if (is_signed && sp->plus) {
    prefix[p++] = '+';
  } else if (is_signed && sp->space) {
    prefix[p++] = ' ';
  }
  if ((sp->alt || pointer) && base == 16 && (n > 0 || pointer)) {
    prefix[p++] = '0';
    prefix[p++] = upper ? 'X' : 'x';
  } else if (sp->alt && base == 8 && (n == 0 || digits[sizeof digits - n] != '0')) {
    prefix[p++] = '0';
  }
  emit_number(o, sp, prefix, digits + sizeof digits - n, n);
}

/*
 * n / d and n % d for a quotient that fits 64 bits, by shift and subtract: libgcc's __udivmodti4
 * would do it faster but uses SSE registers, which the SDK avoids (see the top of this file).
 */
static uint64_t div128(unsigned __int128 n, uint64_t d, uint64_t *rem) {
  unsigned __int128 r = 0;
  uint64_t q = 0;
  for (int i = 127; i >= 0; i--) {
    r = (r << 1) | (uint64_t)((n >> i) & 1);
    q <<= 1;
    if (r >= d) {
      r -= d;
      q |= 1;
    }
  }
  *rem = (uint64_t)r;
  return q;
}

/*
 * Fixed notation of an IEEE 754 binary64 given as its bits, exact and correctly rounded (half to
 * even on the exact binary value), with integer arithmetic only. Writes at most `cap` digits
 * and the point into `text` (callers give 340 bytes: 309 integer digits, '.', 17 decimals) and
 * returns the length; the sign is not written. value = mant * 2^exp.
 */
static int fixed_digits(char *text, uint64_t bits, int prec) {
  int biased = (int)((bits >> 52) & 0x7FF);
  uint64_t mant = bits & 0xFFFFFFFFFFFFFull;
  int exp;
  if (biased == 0) {
    exp = -1074; /* subnormal */
  } else {
    mant |= 1ull << 52;
    exp = biased - 1075;
  }
  uint64_t pow10 = 1;
  for (int i = 0; i < prec; i++) pow10 *= 10;
  int n = 0;
  if (exp >= 0) {
    /* An integer: mant << exp, up to 1024 bits, converted by repeated division by 10^9. */
    uint32_t limb[34] = {0};
    int nl = 34;
    /* mant has 53 bits; shifted by exp % 32 it spans up to three limbs. */
    unsigned __int128 wide = (unsigned __int128)mant << (exp % 32);
    limb[exp / 32] = (uint32_t)wide;
    limb[exp / 32 + 1] = (uint32_t)(wide >> 32);
    if (exp / 32 + 2 < nl) limb[exp / 32 + 2] = (uint32_t)(wide >> 64);
    char rev[320];
    int nr = 0;
    for (;;) {
      bool zero = true;
      uint64_t rem = 0;
      for (int i = nl - 1; i >= 0; i--) {
        uint64_t cur = (rem << 32) | limb[i];
        limb[i] = (uint32_t)(cur / 1000000000u);
        rem = cur % 1000000000u;
        if (limb[i]) zero = false;
      }
      for (int k = 0; k < 9; k++) {
        rev[nr++] = (char)('0' + rem % 10);
        rem /= 10;
        if (zero && rem == 0) break;
      }
      if (zero) break;
    }
    while (nr > 1 && rev[nr - 1] == '0') nr--;
    while (nr) text[n++] = rev[--nr];
    if (prec > 0) text[n++] = '.';
    for (int i = 0; i < prec; i++) text[n++] = '0';
    return n;
  }
  /* value * 10^prec = mant * 10^prec / 2^-exp; mant * 10^prec < 2^110 fits 128 bits. */
  unsigned __int128 scaled = (unsigned __int128)mant * pow10;
  int shift = -exp;
  unsigned __int128 q, rem, half;
  if (shift >= 128) {
    q = 0;
    rem = scaled;
    half = 0; /* 2^(shift-1) exceeds scaled: always rounds down */
  } else {
    q = scaled >> shift;
    rem = scaled - (q << shift);
    half = (unsigned __int128)1 << (shift - 1);
  }
  if (half != 0 && (rem > half || (rem == half && (q & 1)))) q++;
  uint64_t fp;
  uint64_t ip = div128(q, pow10, &fp);
  char rev[24];
  int nr = 0;
  do {
    rev[nr++] = (char)('0' + ip % 10);
    ip /= 10;
  } while (ip);
  while (nr) text[n++] = rev[--nr];
  if (prec > 0) text[n++] = '.';
  for (int i = prec - 1; i >= 0; i--) {
    text[n + i] = (char)('0' + fp % 10);
    fp /= 10;
  }
  return n + prec;
}

static void format_f64(out *o, const spec *sp, uint64_t bits) {
  char text[340];
  bool negative = bits >> 63;
  int prec = sp->precision < 0 ? 6 : (sp->precision > 17 ? 17 : sp->precision);
  const char *sign = negative ? "-" : (sp->plus ? "+" : (sp->space ? " " : ""));
  spec s2 = *sp;
  s2.precision = -1; /* already applied to the digits */
  if (((bits >> 52) & 0x7FF) == 0x7FF) {
    s2.zero = false;
    emit_number(o, &s2, sign, (bits & 0xFFFFFFFFFFFFFull) ? "nan" : "inf", 3);
    return;
  }
  int n = fixed_digits(text, bits, prec);
  if (prec == 0 && sp->alt) text[n++] = '.';
  emit_number(o, &s2, sign, text, n);
}

int glint_format_f64(char *buf, size_t size, uint64_t bits, int precision) {
  out o = {buf, size, 0};
  spec sp = {false, false, false, false, false, -1, precision};
  format_f64(&o, &sp, bits);
  if (size) o.buf[o.len < size ? o.len : size - 1] = '\0';
  return (int)o.len;
}

/*
 * va_arg(ap, double) without floating-point registers. The System V x86-64 psABI (3.5.7) defines
 * va_list as this structure; a double comes from the register save area while fp_offset < 176,
 * else from the overflow area. The variadic entry points (varargs.c) are built with SSE, so their
 * prologues do save XMM0-7 there when the caller passed doubles.
 */
typedef struct va_tag {
  unsigned gp_offset;
  unsigned fp_offset;
  uint8_t *overflow_arg_area;
  uint8_t *reg_save_area;
} va_tag;

static uint64_t va_double_bits(va_list ap) {
  va_tag *t = (va_tag *)ap;
  uint64_t bits;
  if (t->fp_offset < 176) {
    __builtin_memcpy(&bits, t->reg_save_area + t->fp_offset, 8);
    t->fp_offset += 16;
  } else {
    __builtin_memcpy(&bits, t->overflow_arg_area, 8);
    t->overflow_arg_area += 8;
  }
  return bits;
}

int glint_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap) {
  out o = {buf, size, 0};
  va_list args;
  va_copy(args, ap);
  for (const char *f = fmt; *f; f++) {
    if (*f != '%') {
      put(&o, *f);
      continue;
    }
    const char *start = f++;
    spec sp = {false, false, false, false, false, -1, -1};
    for (;; f++) {
      if (*f == '-') sp.left = true;
      else if (*f == '0') sp.zero = true;
      else if (*f == '+') sp.plus = true;
      else if (*f == ' ') sp.space = true;
      else if (*f == '#') sp.alt = true;
      else break;
    }
    if (*f == '*') {
      sp.width = va_arg(args, int);
      if (sp.width < 0) {
        sp.left = true;
        sp.width = -sp.width;
      }
      f++;
    } else {
      while (*f >= '0' && *f <= '9') sp.width = (sp.width < 0 ? 0 : sp.width) * 10 + (*f++ - '0');
    }
    if (*f == '.') {
      f++;
      sp.precision = 0;
      if (*f == '*') {
        sp.precision = va_arg(args, int);
        if (sp.precision < 0) sp.precision = -1;
        f++;
      } else {
        while (*f >= '0' && *f <= '9') sp.precision = sp.precision * 10 + (*f++ - '0');
      }
    }
    /* Length: 0 int, 1 long, 2 long long, h/hh narrow after reading an int, z/j/t are 64-bit. */
    int lng = 0, shrt = 0;
    for (;; f++) {
      if (*f == 'l') lng++;
      else if (*f == 'h') shrt++;
      else if (*f == 'z' || *f == 'j' || *f == 't') lng = 2;
      else break;
    }
    char c = *f;
    switch (c) {
      case 'd':
      case 'i': {
        int64_t v = lng ? va_arg(args, int64_t) : va_arg(args, int);
        if (shrt == 1) v = (short)v;
        if (shrt >= 2) v = (signed char)v;
        uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
        format_unsigned(&o, &sp, mag, 10, false, v < 0, true, false);
        break;
      }
      case 'u':
      case 'x':
      case 'X':
      case 'o': {
        uint64_t v = lng ? va_arg(args, uint64_t) : va_arg(args, unsigned);
        if (shrt == 1) v = (unsigned short)v;
        if (shrt >= 2) v = (unsigned char)v;
        unsigned base = c == 'u' ? 10 : (c == 'o' ? 8 : 16);
        format_unsigned(&o, &sp, v, base, c == 'X', false, false, false);
        break;
      }
      case 'p': {
        void *p = va_arg(args, void *);
        format_unsigned(&o, &sp, (uintptr_t)p, 16, false, false, false, true);
        break;
      }
      case 'c': {
        char ch = (char)va_arg(args, int);
        spec s2 = sp;
        s2.precision = -1;
        s2.zero = false;
        emit_number(&o, &s2, "", &ch, 1);
        break;
      }
      case 's': {
        const char *s = va_arg(args, const char *);
        if (!s) s = "(null)";
        size_t n = 0;
        /* With a precision, read at most that many bytes: the string need not be terminated. */
        while ((sp.precision < 0 || n < (size_t)sp.precision) && s[n]) n++;
        spec s2 = sp;
        s2.precision = -1;
        s2.zero = false;
        emit_number(&o, &s2, "", s, (int)n);
        break;
      }
      case 'f':
      case 'F': format_f64(&o, &sp, va_double_bits(args)); break;
      case '%': put(&o, '%'); break;
      default:
        /* Unknown or truncated conversion: copy it literally, so the mistake shows. */
        put_n(&o, start, (size_t)(f - start) + (c ? 1 : 0));
        if (!c) f--;
        break;
    }
  }
  va_end(args);
  if (size) o.buf[o.len < size ? o.len : size - 1] = '\0';
  return o.len > 0x7FFFFFFF ? 0x7FFFFFFF : (int)o.len;
}
