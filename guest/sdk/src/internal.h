/*
 * internal.h - SDK-private declarations: the wire codec (ABI 7) and the heap's setup.
 *
 * The codec is pure (no ports, no globals) so that the native tests in guest/tests can exercise it
 * on the build machine exactly as the guest uses it.
 */
#ifndef GLINT_INTERNAL_H
#define GLINT_INTERNAL_H

#include "glint.h"

/* Native tests link the SDK's libc pieces next to the host's libc: they get a prefix there. */
#ifdef GLINT_NATIVE_TEST
#define GLINT_LIBC(name) glint_test_##name
void *glint_test_memcpy(void *dst, const void *src, size_t n);
void *glint_test_memmove(void *dst, const void *src, size_t n);
void *glint_test_memset(void *dst, int c, size_t n);
int glint_test_memcmp(const void *a, const void *b, size_t n);
size_t glint_test_strlen(const char *s);
int glint_test_strcmp(const char *a, const char *b);
void *glint_test_malloc(size_t n);
void glint_test_free(void *p);
void *glint_test_calloc(size_t nmemb, size_t size);
void *glint_test_realloc(void *p, size_t n);
#else
#define GLINT_LIBC(name) name
#endif

#define GLINT_DESCRIPTOR_MAGIC 0x544E4C47u
#define GLINT_RECORD_MAGIC 0x4C47u
#define GLINT_WIRE_VERSION 1
#define GLINT_HEADER_SIZE 8

/* Record kinds (ABI 7.2). */
enum {
  GLINT_KIND_CALL = 1,
  GLINT_KIND_RETURN = 2,
  GLINT_KIND_HOST_CALL = 3,
  GLINT_KIND_HOST_RESULT = 4,
  GLINT_KIND_LOG = 5,
  GLINT_KIND_ABORT = 6,
  GLINT_KIND_TABLE = 7,
};

/* Ports (ABI 7.1). */
enum {
  GLINT_PORT_READY = 0x100,
  GLINT_PORT_RETURN = 0x101,
  GLINT_PORT_HOST_CALL = 0x102,
  GLINT_PORT_LOG = 0x103,
  GLINT_PORT_ABORT = 0x104,
};

/*
 * Writer over a fixed buffer. Writes past the capacity set `overflow` and write nothing, so a
 * sequence of writes needs one check at the end.
 */
typedef struct glint_writer {
  uint8_t *buf;
  size_t cap;
  size_t len;
  size_t record_start; /* where the open record's header is */
  bool overflow;
} glint_writer;

void glint_w_init(glint_writer *w, void *buf, size_t cap);
void glint_w_u8(glint_writer *w, uint8_t v);
void glint_w_u16(glint_writer *w, uint16_t v);
void glint_w_u32(glint_writer *w, uint32_t v);
void glint_w_u64(glint_writer *w, uint64_t v);
void glint_w_raw(glint_writer *w, const void *p, size_t n);
/* Name: u16 length then bytes. Does not check the 1-255 rule (callers do). */
void glint_w_name(glint_writer *w, const char *name, size_t len);
/* Tag then encoding. */
void glint_w_value(glint_writer *w, const glint_value *v);
/* Starts a record of this kind at the current position; glint_w_end_record patches its length. */
void glint_w_begin_record(glint_writer *w, uint8_t kind);
/* Returns false when anything overflowed or the payload exceeds 4 GiB. */
bool glint_w_end_record(glint_writer *w);

/*
 * Reader over untrusted bytes. The first failure records a message in `err` and every later read
 * fails too, so decoders check once; reads never go outside [buf, buf + len).
 */
typedef struct glint_reader {
  const uint8_t *buf;
  size_t len;
  size_t pos;
  const char *err;
} glint_reader;

void glint_r_init(glint_reader *r, const void *buf, size_t len);
bool glint_r_fail(glint_reader *r, const char *why);
uint8_t glint_r_u8(glint_reader *r);
uint16_t glint_r_u16(glint_reader *r);
uint32_t glint_r_u32(glint_reader *r);
uint64_t glint_r_u64(glint_reader *r);
/* Returns a pointer to n bytes in place, or NULL (and sets err) when they are not all there. */
const uint8_t *glint_r_raw(glint_reader *r, size_t n);
/* A name (1-255 bytes of UTF-8). */
bool glint_r_name(glint_reader *r, const char **name, uint16_t *len);
/* A value: tag then encoding; void only when allow_void. Strings are checked to be UTF-8. */
bool glint_r_value(glint_reader *r, glint_value *v, bool allow_void);
/* Succeeds when no read failed and every byte was consumed. */
bool glint_r_done(glint_reader *r);

/*
 * Opens the record at buf (avail bytes readable there): checks magic, version and kind, checks
 * that the payload fits, and sets *payload to read exactly the payload. On success *record_size
 * is the header plus payload.
 */
bool glint_wire_open(const void *buf, size_t avail, uint8_t kind, glint_reader *payload,
                     size_t *record_size, const char **err);

/* A decoded call or host call (kind 1 or 3); values point into the record. */
typedef struct glint_call {
  const char *name;
  uint16_t name_len;
  uint8_t argc;
  glint_value args[GLINT_MAX_PARAMS];
  size_t record_size;
} glint_call;

bool glint_wire_decode_call(const void *buf, size_t avail, uint8_t kind, glint_call *call,
                            const char **err);
bool glint_wire_encode_call(glint_writer *w, uint8_t kind, const char *name, size_t name_len,
                            int argc, const glint_value *args);

/* A decoded return or host result (kind 2 or 4). */
typedef struct glint_outcome {
  uint8_t status; /* 0 ok, 1 error */
  glint_value value;  /* status 0 */
  uint16_t code;      /* status 1 */
  const char *message; /* status 1, UTF-8, not NUL-terminated */
  uint32_t message_len;
  size_t record_size;
} glint_outcome;

bool glint_wire_decode_outcome(const void *buf, size_t avail, uint8_t kind, glint_outcome *out,
                               const char **err);
bool glint_wire_encode_ok(glint_writer *w, uint8_t kind, const glint_value *value);
bool glint_wire_encode_error(glint_writer *w, uint8_t kind, uint16_t code, const char *msg,
                             uint32_t len);

/* Message records (kinds 5 and 6): level/code then u32 length and the text. */
bool glint_wire_encode_log(glint_writer *w, uint8_t level, const char *msg, uint32_t len);
bool glint_wire_encode_abort(glint_writer *w, int32_t code, const char *msg, uint32_t len);

/* Is this tag a type a parameter may have (1-9)? */
static inline bool glint_is_param_type(int t) { return t >= GLINT_I32 && t <= GLINT_BYTES; }

/*
 * Makes len bytes at s safe to send as a message: bytes that are not part of a well-formed UTF-8
 * sequence become '?'. In place.
 */
void glint_utf8_sanitize(char *s, size_t len);

/* Hands the heap region to the allocator (done once at entry). */
void glint_heap_init(void *base, size_t size);
/* Heap consistency check for tests: returns 0 or a negative number naming the broken rule. */
int glint_heap_check(void);

/* Records an SDK-found host-call error message and returns code (varargs.c wraps the v-form). */
int glint__host_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int glint__host_error_v(int code, const char *fmt, va_list ap);

/* The runtime's C entry, called by _start with the descriptor page address. */
void glint_main(const glint_descriptor *desc) __attribute__((noreturn));

#endif /* GLINT_INTERNAL_H */
