/*
 * The wire codec: round trips of every record kind the guest writes or reads, and rejection of
 * malformed input (truncation at every length, oversized lengths, trailing bytes, bad tags, bad
 * bools, ill-formed UTF-8, limits).
 */
#include <string.h>

#include "test.h"

static uint8_t buf[4096];

static glint_value sample_values[10];

static void make_values(void) {
  static const uint8_t blob[] = {0, 1, 2, 0xFF, 0x80};
  sample_values[0] = glint_i32(-123456);
  sample_values[1] = glint_u32(0xFFFFFFFFu);
  sample_values[2] = glint_i64(INT64_MIN);
  sample_values[3] = glint_u64(0x0123456789ABCDEFull);
  sample_values[4] = (glint_value){GLINT_F32, {.f32_bits = 0x7FC00123u}}; /* NaN with payload */
  sample_values[5] = (glint_value){GLINT_F64, {.f64_bits = 0xFFF0000000000001ull}};
  sample_values[6] = glint_bool(true);
  sample_values[7] = glint_string("h\xc3\xa9llo \xf0\x9f\x98\x80");
  sample_values[8] = glint_bytes(blob, sizeof blob);
  sample_values[9] = glint_stringn("", 0);
}

static bool same_value(const glint_value *a, const glint_value *b) {
  if (a->type != b->type) return false;
  switch (a->type) {
    case GLINT_VOID: return true;
    case GLINT_I32:
    case GLINT_U32:
    case GLINT_F32: return a->as.u32 == b->as.u32;
    case GLINT_BOOL: return a->as.b == b->as.b;
    case GLINT_STRING:
    case GLINT_BYTES:
      return a->as.buf.len == b->as.buf.len &&
             memcmp(a->as.buf.ptr, b->as.buf.ptr, a->as.buf.len) == 0;
    default: return a->as.u64 == b->as.u64;
  }
}

static void call_round_trip(void) {
  glint_writer w;
  glint_w_init(&w, buf, sizeof buf);
  CHECK(glint_wire_encode_call(&w, GLINT_KIND_CALL, "Fn", 2, 10, sample_values), "encode call");
  size_t size = w.len;
  /* Header: magic "GL", version 1, kind 1, payload length. */
  CHECK(buf[0] == 0x47 && buf[1] == 0x4C && buf[2] == 1 && buf[3] == 1, "call header bytes");
  CHECK(buf[4] + (buf[5] << 8) + (buf[6] << 16) + ((uint32_t)buf[7] << 24) == size - 8,
        "payload length");
  glint_call call;
  const char *err = NULL;
  CHECK(glint_wire_decode_call(buf, sizeof buf, GLINT_KIND_CALL, &call, &err), "decode: %s", err);
  CHECK(call.name_len == 2 && memcmp(call.name, "Fn", 2) == 0, "name");
  CHECK(call.argc == 10, "argc %d", call.argc);
  CHECK(call.record_size == size, "record size %zu vs %zu", call.record_size, size);
  for (int i = 0; i < 10; i++) {
    CHECK(same_value(&call.args[i], &sample_values[i]), "argument %d", i);
  }
  /* Every truncation of the buffer is rejected, not read past. */
  int rejected = 0;
  for (size_t avail = 0; avail < size; avail++) {
    uint8_t *copy = malloc(avail ? avail : 1); /* exact size: ASan catches any overread */
    memcpy(copy, buf, avail);
    if (!glint_wire_decode_call(copy, avail, GLINT_KIND_CALL, &call, &err)) rejected++;
    free(copy);
  }
  CHECK(rejected == (int)size, "all %zu truncated buffers rejected, got %d", size, rejected);
  /* A payload length that claims fewer bytes cuts the last value: rejected too. */
  rejected = 0;
  for (uint32_t len = 0; len < size - 8; len++) {
    uint8_t copy[4096];
    memcpy(copy, buf, size);
    copy[4] = (uint8_t)len, copy[5] = (uint8_t)(len >> 8), copy[6] = 0, copy[7] = 0;
    if (!glint_wire_decode_call(copy, size, GLINT_KIND_CALL, &call, &err)) rejected++;
  }
  CHECK(rejected == (int)(size - 8), "all shortened payload lengths rejected");
  /* Wrong kind, magic, version. */
  CHECK(!glint_wire_decode_call(buf, sizeof buf, GLINT_KIND_HOST_CALL, &call, &err),
        "kind 3 where 1 is expected");
  uint8_t saved = buf[0];
  buf[0] = 0;
  CHECK(!glint_wire_decode_call(buf, sizeof buf, GLINT_KIND_CALL, &call, &err), "bad magic");
  buf[0] = saved;
  buf[2] = 2;
  CHECK(!glint_wire_decode_call(buf, sizeof buf, GLINT_KIND_CALL, &call, &err), "version 2");
  buf[2] = 1;
}

/* Encodes one call with a hand-written payload and says whether the decoder accepts it. */
static bool decode_payload(const uint8_t *payload, size_t n, const char **err) {
  uint8_t rec[600];
  rec[0] = 0x47, rec[1] = 0x4C, rec[2] = 1, rec[3] = GLINT_KIND_CALL;
  rec[4] = (uint8_t)n, rec[5] = (uint8_t)(n >> 8), rec[6] = 0, rec[7] = 0;
  memcpy(rec + 8, payload, n);
  glint_call call;
  *err = NULL;
  return glint_wire_decode_call(rec, 8 + n, GLINT_KIND_CALL, &call, err);
}

static void call_rejections(void) {
  const char *err;
  /* name "F", 1 argument. */
  const uint8_t ok[] = {1, 0, 'F', 1, GLINT_BOOL, 1};
  CHECK(decode_payload(ok, sizeof ok, &err), "valid bool call: %s", err);
  const uint8_t bad_bool[] = {1, 0, 'F', 1, GLINT_BOOL, 2};
  CHECK(!decode_payload(bad_bool, sizeof bad_bool, &err), "bool byte 2");
  const uint8_t trailing[] = {1, 0, 'F', 1, GLINT_BOOL, 1, 0};
  CHECK(!decode_payload(trailing, sizeof trailing, &err) && strstr(err, "left"),
        "trailing byte: %s", err ? err : "accepted");
  const uint8_t bad_tag[] = {1, 0, 'F', 1, 10, 0};
  CHECK(!decode_payload(bad_tag, sizeof bad_tag, &err), "tag 10");
  const uint8_t void_arg[] = {1, 0, 'F', 1, GLINT_VOID};
  CHECK(!decode_payload(void_arg, sizeof void_arg, &err), "void argument");
  const uint8_t empty_name[] = {0, 0, 0};
  CHECK(!decode_payload(empty_name, sizeof empty_name, &err), "empty name");
  const uint8_t bad_utf8_name[] = {1, 0, 0xC0, 0};
  CHECK(!decode_payload(bad_utf8_name, sizeof bad_utf8_name, &err), "name not UTF-8");
  const uint8_t bad_string[] = {1, 0, 'F', 1, GLINT_STRING, 2, 0, 0, 0, 0xED, 0xA0};
  CHECK(!decode_payload(bad_string, sizeof bad_string, &err), "string with a surrogate");
  const uint8_t long_string[] = {1, 0, 'F', 1, GLINT_STRING, 0xFF, 0xFF, 0xFF, 0xFF, 'a'};
  CHECK(!decode_payload(long_string, sizeof long_string, &err), "string length 4 GiB");
  uint8_t seventeen[3 + 1 + 17 * 2] = {1, 0, 'F', 17};
  for (int i = 0; i < 17; i++) seventeen[4 + 2 * i] = GLINT_BOOL, seventeen[5 + 2 * i] = 0;
  CHECK(!decode_payload(seventeen, sizeof seventeen, &err), "17 arguments");
  seventeen[3] = 16;
  CHECK(decode_payload(seventeen, sizeof seventeen - 2, &err), "16 arguments: %s", err);
  /* Name of 256 bytes is over the limit; 255 is fine. */
  uint8_t name256[2 + 256 + 1];
  memset(name256, 'n', sizeof name256);
  name256[0] = 0, name256[1] = 1, name256[258] = 0;
  CHECK(!decode_payload(name256, sizeof name256, &err), "name of 256 bytes");
  name256[0] = 255, name256[1] = 0, name256[257] = 0;
  CHECK(decode_payload(name256, 2 + 255 + 1, &err), "name of 255 bytes: %s", err);
  /* A payload length larger than the buffer minus the header. */
  uint8_t rec[16] = {0x47, 0x4C, 1, GLINT_KIND_CALL, 9, 0, 0, 0, 1, 0, 'F', 0};
  glint_call call;
  CHECK(!glint_wire_decode_call(rec, 16, GLINT_KIND_CALL, &call, &err), "payload 9 in 8 bytes");
  rec[4] = 0xF8, rec[5] = 0xFF, rec[6] = 0xFF, rec[7] = 0xFF;
  CHECK(!glint_wire_decode_call(rec, 16, GLINT_KIND_CALL, &call, &err), "payload 4 GiB");
  rec[4] = 4, rec[5] = 0, rec[6] = 0, rec[7] = 0;
  CHECK(glint_wire_decode_call(rec, 16, GLINT_KIND_CALL, &call, &err), "exact fit: %s", err);
}

static void outcome_round_trips(void) {
  glint_outcome o;
  const char *err;
  for (int i = 0; i < 10; i++) {
    glint_writer w;
    glint_w_init(&w, buf, sizeof buf);
    CHECK(glint_wire_encode_ok(&w, GLINT_KIND_HOST_RESULT, &sample_values[i]), "encode ok %d", i);
    err = NULL;
    CHECK(glint_wire_decode_outcome(buf, w.len, GLINT_KIND_HOST_RESULT, &o, &err),
          "decode ok %d: %s", i, err);
    CHECK(o.status == 0 && same_value(&o.value, &sample_values[i]), "value %d", i);
    CHECK(o.record_size == w.len, "record size %d", i);
    int rejected = 0;
    for (size_t avail = 0; avail < w.len; avail++) {
      uint8_t *copy = malloc(avail ? avail : 1);
      memcpy(copy, buf, avail);
      if (!glint_wire_decode_outcome(copy, avail, GLINT_KIND_HOST_RESULT, &o, &err)) rejected++;
      free(copy);
    }
    CHECK(rejected == (int)w.len, "truncations of result %d rejected", i);
  }
  glint_value v = {GLINT_VOID, {.u64 = 0}};
  glint_writer w;
  glint_w_init(&w, buf, sizeof buf);
  CHECK(glint_wire_encode_ok(&w, GLINT_KIND_RETURN, &v) && w.len == 10, "void result is 10 bytes");
  CHECK(glint_wire_decode_outcome(buf, w.len, GLINT_KIND_RETURN, &o, &err) &&
            o.value.type == GLINT_VOID,
        "void result decodes");

  glint_w_init(&w, buf, sizeof buf);
  CHECK(glint_wire_encode_error(&w, GLINT_KIND_HOST_RESULT, 2, "type mismatch", 13), "encode err");
  CHECK(w.len == 8 + 1 + 2 + 4 + 13, "error record size %zu", w.len);
  CHECK(glint_wire_decode_outcome(buf, w.len, GLINT_KIND_HOST_RESULT, &o, &err), "decode err");
  CHECK(o.status == 1 && o.code == 2 && o.message_len == 13 &&
            memcmp(o.message, "type mismatch", 13) == 0,
        "error fields");
  buf[8] = 2;
  CHECK(!glint_wire_decode_outcome(buf, w.len, GLINT_KIND_HOST_RESULT, &o, &err), "status 2");
  buf[8] = 1;
  buf[w.len - 1] = 0xFF;
  CHECK(!glint_wire_decode_outcome(buf, w.len, GLINT_KIND_HOST_RESULT, &o, &err),
        "error message not UTF-8");

  /* Too small a buffer: the writer refuses instead of overrunning. */
  uint8_t small[12];
  glint_w_init(&w, small, sizeof small);
  CHECK(!glint_wire_encode_ok(&w, GLINT_KIND_RETURN, &sample_values[7]), "overflow reported");
  CHECK(w.len <= sizeof small, "writer stayed inside the buffer");
  glint_w_init(&w, buf, sizeof buf);
  glint_value bad = {(glint_type)11, {.u64 = 0}};
  CHECK(!glint_wire_encode_ok(&w, GLINT_KIND_RETURN, &bad), "type 11 refused");
  glint_w_init(&w, buf, sizeof buf);
  CHECK(!glint_wire_encode_call(&w, GLINT_KIND_HOST_CALL, "F", 1, 1, &v), "void argument refused");
  glint_w_init(&w, buf, sizeof buf);
  CHECK(!glint_wire_encode_call(&w, GLINT_KIND_HOST_CALL, "", 0, 0, NULL), "empty name refused");
  glint_w_init(&w, buf, sizeof buf);
  CHECK(!glint_wire_encode_call(&w, GLINT_KIND_HOST_CALL, "F", 1, 17, sample_values),
        "17 arguments refused");
}

static void message_records(void) {
  glint_writer w;
  glint_w_init(&w, buf, sizeof buf);
  CHECK(glint_wire_encode_log(&w, 3, "hi", 2), "encode log");
  const uint8_t log[] = {0x47, 0x4C, 1, 5, 7, 0, 0, 0, 3, 2, 0, 0, 0, 'h', 'i'};
  CHECK(w.len == sizeof log && memcmp(buf, log, sizeof log) == 0, "log bytes");
  glint_w_init(&w, buf, sizeof buf);
  CHECK(glint_wire_encode_abort(&w, -2, "x", 1), "encode abort");
  const uint8_t abort_rec[] = {0x47, 0x4C, 1, 6, 9, 0, 0, 0, 0xFE, 0xFF, 0xFF, 0xFF, 1, 0, 0, 0, 'x'};
  CHECK(w.len == sizeof abort_rec && memcmp(buf, abort_rec, sizeof abort_rec) == 0, "abort bytes");
}

static void utf8(void) {
  CHECK(glint_utf8_valid("", 0), "empty");
  CHECK(glint_utf8_valid("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 10), "1-4 byte sequences");
  CHECK(!glint_utf8_valid("\xc0\xaf", 2), "overlong 2-byte");
  CHECK(!glint_utf8_valid("\xe0\x80\xaf", 3), "overlong 3-byte");
  CHECK(!glint_utf8_valid("\xf0\x80\x80\xaf", 4), "overlong 4-byte");
  CHECK(!glint_utf8_valid("\xed\xa0\x80", 3), "surrogate");
  CHECK(!glint_utf8_valid("\xf4\x90\x80\x80", 4), "above U+10FFFF");
  CHECK(glint_utf8_valid("\xf4\x8f\xbf\xbf", 4), "U+10FFFF");
  CHECK(!glint_utf8_valid("\xe2\x82", 2), "truncated sequence");
  CHECK(!glint_utf8_valid("\x80", 1), "lone continuation");
  CHECK(!glint_utf8_valid("\xff", 1), "0xFF");
  char s[] = "ok\xff\xe2\x82 \xc3\xa9";
  glint_utf8_sanitize(s, sizeof s - 1);
  CHECK(strcmp(s, "ok??? \xc3\xa9") == 0, "sanitize replaced bad bytes: %s", s);
  CHECK(glint_utf8_valid(s, strlen(s)), "sanitized text is valid");
}

void test_wire(void) {
  make_values();
  call_round_trip();
  call_rejections();
  outcome_round_trips();
  message_records();
  utf8();
}
