/*
 * wire.c - the wire format of ABI section 7: records, values, names.
 *
 * Little-endian, unaligned, byte by byte: the buffers have no alignment guarantees and the host may
 * have written anything (ABI 7.2), so every read is bounds-checked and values are assembled from
 * bytes rather than loaded through casted pointers.
 */
#include "internal.h"

/* ---- writer ---- */

void glint_w_init(glint_writer *w, void *buf, size_t cap) {
  w->buf = buf;
  w->cap = cap;
  w->len = 0;
  w->record_start = 0;
  w->overflow = false;
}

/* Reserves n bytes, or marks the writer overflowed. */
static uint8_t *w_take(glint_writer *w, size_t n) {
  if (w->overflow || n > w->cap - w->len) {
    w->overflow = true;
    return NULL;
  }
  uint8_t *p = w->buf + w->len;
  w->len += n;
  return p;
}

/*
 * Little-endian fields at any alignment. x86-64 is little-endian and allows unaligned access, so
 * a fixed-size memcpy compiles to one load or store: fewer instructions matter where CPL-0 code is
 * emulated (about a microsecond each on PVM hosts).
 */
static void put_le(uint8_t *p, uint64_t v, int n) {
  switch (n) {
    case 1: *p = (uint8_t)v; break;
    case 2: { uint16_t x = (uint16_t)v; __builtin_memcpy(p, &x, 2); break; }
    case 4: { uint32_t x = (uint32_t)v; __builtin_memcpy(p, &x, 4); break; }
    default: __builtin_memcpy(p, &v, 8); break;
  }
}

static uint64_t get_le(const uint8_t *p, int n) {
  switch (n) {
    case 1: return *p;
    case 2: { uint16_t x; __builtin_memcpy(&x, p, 2); return x; }
    case 4: { uint32_t x; __builtin_memcpy(&x, p, 4); return x; }
    default: { uint64_t x; __builtin_memcpy(&x, p, 8); return x; }
  }
}

void glint_w_u8(glint_writer *w, uint8_t v) {
  uint8_t *p = w_take(w, 1);
  if (p) *p = v;
}
void glint_w_u16(glint_writer *w, uint16_t v) {
  uint8_t *p = w_take(w, 2);
  if (p) put_le(p, v, 2);
}
void glint_w_u32(glint_writer *w, uint32_t v) {
  uint8_t *p = w_take(w, 4);
  if (p) put_le(p, v, 4);
}
void glint_w_u64(glint_writer *w, uint64_t v) {
  uint8_t *p = w_take(w, 8);
  if (p) put_le(p, v, 8);
}
void glint_w_raw(glint_writer *w, const void *src, size_t n) {
  uint8_t *p = w_take(w, n);
  if (p && n) GLINT_LIBC(memmove)(p, src, n); /* memmove: the source may be this buffer */
}
void glint_w_name(glint_writer *w, const char *name, size_t len) {
  glint_w_u16(w, (uint16_t)len);
  glint_w_raw(w, name, len);
}

void glint_w_value(glint_writer *w, const glint_value *v) {
  /* Fixed-size values take their room once: tag and payload in one bounds check. */
  uint8_t *p;
  switch (v->type) {
    case GLINT_VOID: glint_w_u8(w, GLINT_VOID); break;
    case GLINT_I32:
    case GLINT_U32:
    case GLINT_F32:
      if ((p = w_take(w, 5))) {
        p[0] = (uint8_t)v->type;
        put_le(p + 1, v->as.u32, 4);
      }
      break;
    case GLINT_I64:
    case GLINT_U64:
    case GLINT_F64:
      if ((p = w_take(w, 9))) {
        p[0] = (uint8_t)v->type;
        put_le(p + 1, v->as.u64, 8);
      }
      break;
    case GLINT_BOOL:
      if ((p = w_take(w, 2))) {
        p[0] = GLINT_BOOL;
        p[1] = v->as.b ? 1 : 0;
      }
      break;
    case GLINT_STRING:
    case GLINT_BYTES:
      if ((p = w_take(w, 5))) {
        p[0] = (uint8_t)v->type;
        put_le(p + 1, v->as.buf.len, 4);
      }
      glint_w_raw(w, v->as.buf.ptr, v->as.buf.len);
      break;
    default: w->overflow = true; /* not a type: refuse the whole record */
  }
}

void glint_w_begin_record(glint_writer *w, uint8_t kind) {
  w->record_start = w->len;
  uint8_t *p = w_take(w, GLINT_HEADER_SIZE);
  if (!p) return;
  put_le(p, GLINT_RECORD_MAGIC, 2);
  p[2] = GLINT_WIRE_VERSION;
  p[3] = kind;
  put_le(p + 4, 0, 4); /* payload length, patched by glint_w_end_record */
}

bool glint_w_end_record(glint_writer *w) {
  if (w->overflow) return false;
  size_t payload = w->len - w->record_start - GLINT_HEADER_SIZE;
  if (payload > 0xFFFFFFFFu) return false;
  put_le(w->buf + w->record_start + 4, payload, 4);
  return true;
}

/* ---- reader ---- */

void glint_r_init(glint_reader *r, const void *buf, size_t len) {
  r->buf = buf;
  r->len = len;
  r->pos = 0;
  r->err = NULL;
}

bool glint_r_fail(glint_reader *r, const char *why) {
  if (!r->err) r->err = why;
  return false;
}

const uint8_t *glint_r_raw(glint_reader *r, size_t n) {
  if (r->err) return NULL;
  if (n > r->len - r->pos) {
    glint_r_fail(r, "record ends before its last value");
    return NULL;
  }
  const uint8_t *p = r->buf + r->pos;
  r->pos += n;
  return p;
}

uint8_t glint_r_u8(glint_reader *r) {
  const uint8_t *p = glint_r_raw(r, 1);
  return p ? *p : 0;
}
uint16_t glint_r_u16(glint_reader *r) {
  const uint8_t *p = glint_r_raw(r, 2);
  return p ? (uint16_t)get_le(p, 2) : 0;
}
uint32_t glint_r_u32(glint_reader *r) {
  const uint8_t *p = glint_r_raw(r, 4);
  return p ? (uint32_t)get_le(p, 4) : 0;
}
uint64_t glint_r_u64(glint_reader *r) {
  const uint8_t *p = glint_r_raw(r, 8);
  return p ? get_le(p, 8) : 0;
}

bool glint_r_name(glint_reader *r, const char **name, uint16_t *len) {
  uint16_t n = glint_r_u16(r);
  if (r->err) return false;
  if (n < 1 || n > GLINT_MAX_NAME) return glint_r_fail(r, "name length outside 1-255");
  const uint8_t *p = glint_r_raw(r, n);
  if (!p) return false;
  if (!glint_utf8_valid(p, n)) return glint_r_fail(r, "name is not UTF-8");
  *name = (const char *)p;
  *len = n;
  return true;
}

bool glint_r_value(glint_reader *r, glint_value *v, bool allow_void) {
  uint8_t tag = glint_r_u8(r);
  if (r->err) return false;
  v->as.u64 = 0;
  v->type = (glint_type)tag;
  switch (tag) {
    case GLINT_VOID:
      if (!allow_void) return glint_r_fail(r, "void where a value is needed");
      return true;
    case GLINT_I32:
    case GLINT_U32:
    case GLINT_F32: v->as.u32 = glint_r_u32(r); break;
    case GLINT_I64:
    case GLINT_U64:
    case GLINT_F64: v->as.u64 = glint_r_u64(r); break;
    case GLINT_BOOL: {
      uint8_t b = glint_r_u8(r);
      if (!r->err && b > 1) return glint_r_fail(r, "bool byte other than 0 or 1");
      v->as.b = b != 0;
      break;
    }
    case GLINT_STRING:
    case GLINT_BYTES: {
      uint32_t n = glint_r_u32(r);
      const uint8_t *p = glint_r_raw(r, n);
      if (!p) return false;
      if (tag == GLINT_STRING && !glint_utf8_valid(p, n)) {
        return glint_r_fail(r, "string is not UTF-8");
      }
      v->as.buf.ptr = p;
      v->as.buf.len = n;
      break;
    }
    default: return glint_r_fail(r, "unknown type tag");
  }
  return r->err == NULL;
}

bool glint_r_done(glint_reader *r) {
  if (r->err) return false;
  if (r->pos != r->len) return glint_r_fail(r, "bytes left after the last value");
  return true;
}

/* ---- records ---- */

bool glint_wire_open(const void *buf, size_t avail, uint8_t kind, glint_reader *payload,
                     size_t *record_size, const char **err) {
  const uint8_t *h = buf;
  if (avail < GLINT_HEADER_SIZE) {
    *err = "buffer too small for a record header";
    return false;
  }
  uint32_t len = (uint32_t)get_le(h + 4, 4);
  if (get_le(h, 2) != GLINT_RECORD_MAGIC) {
    *err = "bad record magic";
    return false;
  }
  if (h[2] != GLINT_WIRE_VERSION) {
    *err = "unsupported wire version";
    return false;
  }
  if (h[3] != kind) {
    *err = "unexpected record kind";
    return false;
  }
  if (len > avail - GLINT_HEADER_SIZE) {
    *err = "payload length exceeds the buffer";
    return false;
  }
  glint_r_init(payload, h + GLINT_HEADER_SIZE, len);
  *record_size = GLINT_HEADER_SIZE + (size_t)len;
  return true;
}

bool glint_wire_decode_call(const void *buf, size_t avail, uint8_t kind, glint_call *call,
                            const char **err) {
  glint_reader r;
  if (!glint_wire_open(buf, avail, kind, &r, &call->record_size, err)) return false;
  glint_r_name(&r, &call->name, &call->name_len);
  call->argc = glint_r_u8(&r);
  if (!r.err && call->argc > GLINT_MAX_PARAMS) glint_r_fail(&r, "more than 16 arguments");
  for (int i = 0; !r.err && i < call->argc; i++) glint_r_value(&r, &call->args[i], false);
  if (!glint_r_done(&r)) {
    *err = r.err;
    return false;
  }
  return true;
}

bool glint_wire_encode_call(glint_writer *w, uint8_t kind, const char *name, size_t name_len,
                            int argc, const glint_value *args) {
  if (name_len < 1 || name_len > GLINT_MAX_NAME || argc < 0 || argc > GLINT_MAX_PARAMS) {
    return false;
  }
  glint_w_begin_record(w, kind);
  glint_w_name(w, name, name_len);
  glint_w_u8(w, (uint8_t)argc);
  for (int i = 0; i < argc; i++) {
    if (!glint_is_param_type(args[i].type)) return false;
    glint_w_value(w, &args[i]);
  }
  return glint_w_end_record(w);
}

bool glint_wire_decode_outcome(const void *buf, size_t avail, uint8_t kind, glint_outcome *out,
                               const char **err) {
  glint_reader r;
  if (!glint_wire_open(buf, avail, kind, &r, &out->record_size, err)) return false;
  out->status = glint_r_u8(&r);
  out->value.type = GLINT_VOID;
  out->value.as.u64 = 0;
  out->code = 0;
  out->message = NULL;
  out->message_len = 0;
  if (!r.err && out->status == 0) {
    glint_r_value(&r, &out->value, true);
  } else if (!r.err && out->status == 1) {
    out->code = glint_r_u16(&r);
    uint32_t n = glint_r_u32(&r);
    const uint8_t *p = glint_r_raw(&r, n);
    if (p && !glint_utf8_valid(p, n)) glint_r_fail(&r, "error message is not UTF-8");
    out->message = (const char *)p;
    out->message_len = n;
  } else if (!r.err) {
    glint_r_fail(&r, "status other than 0 or 1");
  }
  if (!glint_r_done(&r)) {
    *err = r.err;
    return false;
  }
  return true;
}

bool glint_wire_encode_ok(glint_writer *w, uint8_t kind, const glint_value *value) {
  if ((unsigned)value->type > GLINT_BYTES) return false;
  glint_w_begin_record(w, kind);
  glint_w_u8(w, 0);
  glint_w_value(w, value);
  return glint_w_end_record(w);
}

bool glint_wire_encode_error(glint_writer *w, uint8_t kind, uint16_t code, const char *msg,
                             uint32_t len) {
  glint_w_begin_record(w, kind);
  glint_w_u8(w, 1);
  glint_w_u16(w, code);
  glint_w_u32(w, len);
  glint_w_raw(w, msg, len);
  return glint_w_end_record(w);
}

bool glint_wire_encode_log(glint_writer *w, uint8_t level, const char *msg, uint32_t len) {
  glint_w_begin_record(w, GLINT_KIND_LOG);
  glint_w_u8(w, level);
  glint_w_u32(w, len);
  glint_w_raw(w, msg, len);
  return glint_w_end_record(w);
}

bool glint_wire_encode_abort(glint_writer *w, int32_t code, const char *msg, uint32_t len) {
  glint_w_begin_record(w, GLINT_KIND_ABORT);
  glint_w_u32(w, (uint32_t)code);
  glint_w_u32(w, len);
  glint_w_raw(w, msg, len);
  return glint_w_end_record(w);
}

const char *glint_type_name(glint_type type) {
  static const char *const names[] = {"void", "i32", "u32", "i64", "u64",
                                      "f32", "f64", "bool", "string", "bytes"};
  return (unsigned)type <= GLINT_BYTES ? names[type] : "?";
}

/* ---- UTF-8 ---- */

/*
 * Length of the well-formed UTF-8 sequence at s[0..n), or 0 when there is none (Unicode table
 * 3-7: exact second-byte ranges exclude overlongs, surrogates and code points above U+10FFFF).
 */
static size_t utf8_seq(const uint8_t *s, size_t n) {
  uint8_t c = s[0];
  if (c < 0x80) return 1;
  size_t need;
  uint8_t lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    need = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (n < need) return 0;
  if (s[1] < lo || s[1] > hi) return 0;
  for (size_t i = 2; i < need; i++) {
    if (s[i] < 0x80 || s[i] > 0xBF) return 0;
  }
  return need;
}

bool glint_utf8_valid(const void *p, size_t len) {
  const uint8_t *s = p;
  size_t i = 0;
  while (i < len) {
    if (s[i] < 0x80) { /* ASCII, the common case (names): no call */
      i++;
      continue;
    }
    size_t k = utf8_seq(s + i, len - i);
    if (k == 0) return false;
    i += k;
  }
  return true;
}

void glint_utf8_sanitize(char *p, size_t len) {
  uint8_t *s = (uint8_t *)p;
  size_t i = 0;
  while (i < len) {
    size_t k = utf8_seq(s + i, len - i);
    if (k == 0) {
      s[i] = '?';
      k = 1;
    }
    i += k;
  }
}
