/*
 * format.c - glint_snprintf: printf-style formatting into a buffer.
 *
 * The one SDK file built with SSE enabled: %f takes a double through va_arg, which needs the
 * floating-point registers the variadic prologue saves. Integer conversions touch no SSE register,
 * so a guest that never formats a double executes no SSE instruction here.
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

/* %f: fixed notation, exact while the value and precision fit 64-bit integer arithmetic. */
static void format_double(out *o, const spec *sp, double x) {
  char text[64];
  int n = 0;
  uint64_t bits;
  __builtin_memcpy(&bits, &x, 8);
  bool negative = bits >> 63;
  int prec = sp->precision < 0 ? 6 : (sp->precision > 17 ? 17 : sp->precision);
  if (((bits >> 52) & 0x7FF) == 0x7FF) {
    const char *word = (bits & 0xFFFFFFFFFFFFFull) ? "nan" : "inf";
    spec s2 = *sp;
    s2.zero = false;
    s2.precision = -1;
    emit_number(o, &s2, negative ? "-" : (sp->plus ? "+" : ""), word, 3);
    return;
  }
  if (negative) x = -x;
  /* Scale huge values down and remember how many zeros to print before the point. */
  int extra_zeros = 0;
  while (x >= 1e19) {
    x /= 10;
    extra_zeros++;
  }
  uint64_t ip = (uint64_t)x;
  double frac = x - (double)ip;
  uint64_t scale = 1;
  for (int i = 0; i < prec; i++) scale *= 10;
  double scaled = frac * (double)scale;
  uint64_t fp = (uint64_t)scaled;
  double rest = scaled - (double)fp;
  /* Round half to even on the last printed digit. */
  if (rest > 0.5 || (rest == 0.5 && (fp & 1))) {
    fp++;
    if (fp >= scale) {
      fp -= scale;
      ip++;
    }
  }
  char ibuf[24];
  int ni = 0;
  do {
    ibuf[ni++] = (char)('0' + ip % 10);
    ip /= 10;
  } while (ip);
  while (ni) text[n++] = ibuf[--ni];
  while (extra_zeros-- > 0 && n < 40) text[n++] = '0';
  if (prec > 0 || sp->alt) text[n++] = '.';
  for (int i = prec - 1; i >= 0; i--) {
    text[n + i] = (char)('0' + fp % 10);
    fp /= 10;
  }
  n += prec;
  spec s2 = *sp;
  s2.precision = -1; /* already applied to the fraction */
  emit_number(o, &s2, negative ? "-" : (sp->plus ? "+" : (sp->space ? " " : "")), text, n);
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
      case 'F': format_double(&o, &sp, va_arg(args, double)); break;
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

int glint_snprintf(char *buf, size_t size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = glint_vsnprintf(buf, size, fmt, ap);
  va_end(ap);
  return n;
}
