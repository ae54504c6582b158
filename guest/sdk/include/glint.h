/*
 * glint.h - the Glint guest SDK.
 *
 * A Glint guest is one statically linked x86-64 program with no operating system underneath. It
 * defines glint_init(), registers its functions there, and the SDK does the rest: it checks the
 * descriptor page the host wrote, reports the function table (READY), then waits for calls, decodes
 * each call record, runs the function and writes its result (RETURN). Guest functions can call host
 * functions, log and abort. The contract with the host is docs/guest-abi.md (ABI 1.0); this header
 * names the ABI sections it implements.
 *
 * Build a guest with the SDK's Makefile rules (guest/Makefile): freestanding, static, non-PIE, no
 * red zone, linked with sdk/glint.ld and libglint.a.
 *
 * CPL 0 on PVM hosts: there KVM's instruction emulator runs all CPL-0 guest code, and it stops the
 * VM (KVM_EXIT_INTERNAL_ERROR) at SSE instructions such as pxor, and at int3. The SDK therefore
 * executes general-purpose instructions only (it is built with -mgeneral-regs-only), and so do the
 * sample guests. Floating-point values travel as bit patterns (glint_arg_f64_bits,
 * glint_result_f64_bits, glint_format_f64); the float/double helpers below are inline, compiled
 * into a guest that chooses to use SSE, which then runs at CPL 3 or on hardware virtualization.
 *
 * Everything here is single-threaded: a guest has one vCPU and handles one call at a time.
 */
#ifndef GLINT_H
#define GLINT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ABI version this SDK implements (docs/guest-abi.md). */
#define GLINT_ABI_MAJOR 1
#define GLINT_ABI_MINOR 0

/* Limits of ABI section 8, enforced by the SDK when a guest registers or calls. */
#define GLINT_MAX_FUNCTIONS 256
#define GLINT_MAX_PARAMS 16
#define GLINT_MAX_NAME 255
#define GLINT_MAX_MESSAGE 65536

/* ------------------------------------------------------------------------------------------ */
/* Types and values                                                                           */
/* ------------------------------------------------------------------------------------------ */

/* The ten wire types; each value equals its wire tag (ABI 7.2). GLINT_VOID is a return type only. */
typedef enum glint_type {
  GLINT_VOID = 0,
  GLINT_I32 = 1,
  GLINT_U32 = 2,
  GLINT_I64 = 3,
  GLINT_U64 = 4,
  GLINT_F32 = 5,
  GLINT_F64 = 6,
  GLINT_BOOL = 7,
  GLINT_STRING = 8,
  GLINT_BYTES = 9,
} glint_type;

/*
 * One typed value: an argument or result of a guest function or of a host call.
 *
 * f32 and f64 are held as their IEEE 754 bit patterns (f32_bits, f64_bits) so that NaN payloads
 * survive unchanged and the SDK never needs floating-point registers; use glint_f32()/glint_f64()
 * and glint_value_f32()/glint_value_f64() to convert. A string or bytes value points at data it
 * does not own and is NOT NUL-terminated: print it with "%.*s".
 */
typedef struct glint_value {
  glint_type type;
  union {
    int32_t i32;
    uint32_t u32;
    int64_t i64;
    uint64_t u64;
    uint32_t f32_bits;
    uint64_t f64_bits;
    bool b;
    struct {
      const void *ptr;
      uint32_t len;
    } buf; /* GLINT_STRING and GLINT_BYTES */
  } as;
} glint_value;

/* Returns the name of a type ("i32", "string", ...), or "?" for a value outside the enum. */
const char *glint_type_name(glint_type type);

/* Constructors, for host-call arguments. */
static inline glint_value glint_i32(int32_t v) {
  glint_value r = {GLINT_I32, {.i32 = v}};
  return r;
}
static inline glint_value glint_u32(uint32_t v) {
  glint_value r = {GLINT_U32, {.u32 = v}};
  return r;
}
static inline glint_value glint_i64(int64_t v) {
  glint_value r = {GLINT_I64, {.i64 = v}};
  return r;
}
static inline glint_value glint_u64(uint64_t v) {
  glint_value r = {GLINT_U64, {.u64 = v}};
  return r;
}
static inline glint_value glint_bool(bool v) {
  glint_value r = {GLINT_BOOL, {.b = v}};
  return r;
}
static inline glint_value glint_f32(float v) {
  glint_value r = {GLINT_F32, {.u64 = 0}};
  __builtin_memcpy(&r.as.f32_bits, &v, 4);
  return r;
}
static inline glint_value glint_f64(double v) {
  glint_value r = {GLINT_F64, {.u64 = 0}};
  __builtin_memcpy(&r.as.f64_bits, &v, 8);
  return r;
}
/* A string value over len bytes of UTF-8 at s (not copied; must stay valid while used). */
static inline glint_value glint_stringn(const char *s, uint32_t len) {
  glint_value r = {GLINT_STRING, {.u64 = 0}};
  r.as.buf.ptr = s;
  r.as.buf.len = len;
  return r;
}
/* A string value over a NUL-terminated string (the NUL is not part of the value). */
static inline glint_value glint_string(const char *s) {
  return glint_stringn(s, (uint32_t)__builtin_strlen(s));
}
/* A bytes value over len bytes at p (not copied). */
static inline glint_value glint_bytes(const void *p, uint32_t len) {
  glint_value r = {GLINT_BYTES, {.u64 = 0}};
  r.as.buf.ptr = p;
  r.as.buf.len = len;
  return r;
}
/* The float in an f32 value (bit-exact). */
static inline float glint_value_f32(const glint_value *v) {
  float f;
  __builtin_memcpy(&f, &v->as.f32_bits, 4);
  return f;
}
/* The double in an f64 value (bit-exact). */
static inline double glint_value_f64(const glint_value *v) {
  double d;
  __builtin_memcpy(&d, &v->as.f64_bits, 8);
  return d;
}

/* ------------------------------------------------------------------------------------------ */
/* Registering guest functions                                                                */
/* ------------------------------------------------------------------------------------------ */

/* The decoded arguments of one call; valid until the function returns. */
typedef struct glint_args glint_args;
/* Where a function puts its result; see glint_result_*. */
typedef struct glint_result glint_result;

/*
 * A guest function. The SDK has already checked the argument count and every argument's type
 * against the registration, so the typed accessors below cannot fail for declared parameters.
 * The function sets its result with exactly one glint_result_* call (the last one wins); a
 * function declared void may set nothing.
 */
typedef void (*glint_fn)(const glint_args *args, glint_result *result);

/*
 * The guest's initialization hook, defined by every guest. The SDK calls it once at start, before
 * READY; register the functions here. Logging is allowed; host calls too (their result goes at the
 * start of the input buffer, as there is no call record yet).
 */
void glint_init(void);

/*
 * Registers a function the host may call (ABI 7.3). `name` (1-255 bytes of UTF-8) must stay valid
 * for the program's life, a string literal in practice; names are unique. `ret` is any type
 * (GLINT_VOID included); `params` holds `nparams` (0-16) types other than GLINT_VOID and is copied.
 * Only valid inside glint_init(). Breaking a rule is a programming error: the SDK aborts (ABI 7.7)
 * with code GLINT_ABORT_USAGE and a message naming the rule, so the host reports it at creation.
 */
void glint_register(const char *name, glint_type ret, int nparams, const glint_type *params,
                    glint_fn fn);

/* Number of arguments of the current call. */
int glint_arg_count(const glint_args *args);
/* Argument i as a value (NULL when i is out of range). */
const glint_value *glint_arg(const glint_args *args, int i);

/*
 * Typed argument access. Asking for an index that does not exist or for a type other than the
 * declared one is a programming error: the SDK aborts with GLINT_ABORT_USAGE and a message.
 */
int32_t glint_arg_i32(const glint_args *args, int i);
uint32_t glint_arg_u32(const glint_args *args, int i);
int64_t glint_arg_i64(const glint_args *args, int i);
uint64_t glint_arg_u64(const glint_args *args, int i);
bool glint_arg_bool(const glint_args *args, int i);
/* Bit patterns of f32/f64 arguments; glint_arg_f32()/glint_arg_f64() convert them. */
uint32_t glint_arg_f32_bits(const glint_args *args, int i);
uint64_t glint_arg_f64_bits(const glint_args *args, int i);
/*
 * A string argument: a pointer to its UTF-8 bytes (validated, NOT NUL-terminated) in the input
 * buffer, valid for the whole call; its length in bytes goes to *len (which may be NULL).
 */
const char *glint_arg_string(const glint_args *args, int i, uint32_t *len);
/* A bytes argument: pointer into the input buffer, valid for the whole call; length to *len. */
const void *glint_arg_bytes(const glint_args *args, int i, uint32_t *len);

static inline float glint_arg_f32(const glint_args *args, int i) {
  uint32_t b = glint_arg_f32_bits(args, i);
  float f;
  __builtin_memcpy(&f, &b, 4);
  return f;
}
static inline double glint_arg_f64(const glint_args *args, int i) {
  uint64_t b = glint_arg_f64_bits(args, i);
  double d;
  __builtin_memcpy(&d, &b, 8);
  return d;
}

/*
 * Setting the result. The value is encoded into the output buffer at once (string and bytes data
 * are copied), so it may point at the function's own stack. The type must be the declared return
 * type; a mismatch, or a value too large for the output buffer, turns the call into an error
 * return (status 1, code GLINT_ERR_FAILED or GLINT_ERR_TOO_LARGE) with a message saying why.
 * Strings must be valid UTF-8, otherwise the call returns an error too: the host would reject them.
 */
void glint_result_value(glint_result *result, const glint_value *value);
void glint_result_void(glint_result *result);
void glint_result_i32(glint_result *result, int32_t v);
void glint_result_u32(glint_result *result, uint32_t v);
void glint_result_i64(glint_result *result, int64_t v);
void glint_result_u64(glint_result *result, uint64_t v);
void glint_result_bool(glint_result *result, bool v);
void glint_result_f32_bits(glint_result *result, uint32_t bits);
void glint_result_f64_bits(glint_result *result, uint64_t bits);
/* A string result of len bytes at s (copied). */
void glint_result_string(glint_result *result, const char *s, uint32_t len);
/* A string result from a NUL-terminated string (copied). */
void glint_result_cstring(glint_result *result, const char *s);
/* A bytes result of len bytes at p (copied). */
void glint_result_bytes(glint_result *result, const void *p, uint32_t len);
/*
 * Fails the call: the host gets a return record with status 1, this code and the formatted
 * message (truncated to 64 KiB; bytes that are not UTF-8 become '?'). Codes 1, 2 and 4 mean what
 * GLINT_ERR_* says; use GLINT_ERR_FAILED (3) or your own codes from 100 up.
 */
void glint_result_error(glint_result *result, uint16_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* glint_result_error with a va_list. */
void glint_result_verror(glint_result *result, uint16_t code, const char *fmt, va_list ap);

static inline void glint_result_f32(glint_result *result, float v) {
  uint32_t b;
  __builtin_memcpy(&b, &v, 4);
  glint_result_f32_bits(result, b);
}
static inline void glint_result_f64(glint_result *result, double v) {
  uint64_t b;
  __builtin_memcpy(&b, &v, 8);
  glint_result_f64_bits(result, b);
}

/*
 * Error codes of return records (status 1) written by the SDK, and of host results (ABI 7.5).
 * The numbering is shared: 1 function not found, 2 argument type mismatch (or a malformed call
 * record), 3 function failed, 4 result too large.
 */
#define GLINT_ERR_NOT_FOUND 1
#define GLINT_ERR_ARGUMENTS 2
#define GLINT_ERR_FAILED 3
#define GLINT_ERR_TOO_LARGE 4

/* ------------------------------------------------------------------------------------------ */
/* Calling host functions                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* Errors found by the SDK itself before or after a host call (negative, unlike the host's). */
#define GLINT_HOST_E_ENCODE (-1)   /* the call did not fit the output buffer, or a bad argument */
#define GLINT_HOST_E_PROTOCOL (-2) /* the host's result record was malformed */
#define GLINT_HOST_E_TYPE (-3)     /* the host returned a type other than `ret` */

/*
 * Calls host function `name` (NUL-terminated, 1-255 bytes) with `nargs` (0-16) arguments and
 * waits for its result (ABI 7.4: kind 3 in the output buffer, port 0x102, kind 4 read back from
 * the input buffer). `ret` is the return type the guest expects.
 *
 * Returns 0 on success and stores the value in *result (may be NULL to ignore it); a string or
 * bytes result points into the input buffer and stays valid until the next host call. Returns the
 * host's error code (1-4, GLINT_ERR_*) when the host answered with an error, or a negative
 * GLINT_HOST_E_* when the SDK found the problem; glint_host_error() then has the message.
 */
int glint_host_call(const char *name, glint_type ret, int nargs, const glint_value *args,
                    glint_value *result);

/*
 * The message of the last failed glint_host_call (UTF-8, NOT NUL-terminated), its length in
 * *len. Valid until the next host call. Empty after a successful call.
 */
const char *glint_host_error(uint32_t *len);

/* ------------------------------------------------------------------------------------------ */
/* Logging and aborting                                                                       */
/* ------------------------------------------------------------------------------------------ */

/* Log levels (ABI 7.6). */
#define GLINT_LOG_ERROR 1
#define GLINT_LOG_WARN 2
#define GLINT_LOG_INFO 3
#define GLINT_LOG_DEBUG 4
#define GLINT_LOG_TRACE 5

/*
 * Sends a formatted log message to the host (kind 5, port 0x103) and continues once the host
 * resumes. Format as glint_snprintf; messages over 64 KiB are truncated, and bytes that are not
 * UTF-8 become '?'. Levels outside 1-5 are clamped. Harmless to a result already set.
 */
void glint_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* glint_log with a va_list. */
void glint_vlog(int level, const char *fmt, va_list ap);

/* Abort codes the SDK itself uses (a guest picks its own, for example positive ones). */
#define GLINT_ABORT_DESCRIPTOR (-1) /* the descriptor page has a bad magic or ABI version */
#define GLINT_ABORT_USAGE (-2)      /* the SDK was misused (registration rule, bad accessor) */

/*
 * Aborts the guest (kind 6, port 0x104): the current call fails and the host poisons the sandbox.
 * Never returns; a host that resumes the vCPU anyway gets the same abort signal again.
 */
void glint_abort(int32_t code, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
/* glint_abort with a va_list. */
void glint_vabort(int32_t code, const char *fmt, va_list ap) __attribute__((noreturn));

/* ------------------------------------------------------------------------------------------ */
/* Formatting                                                                                 */
/* ------------------------------------------------------------------------------------------ */

/*
 * Formats into buf (at most size bytes including the terminating NUL, which is always written
 * when size > 0) and returns the length the full output would have, like C's snprintf.
 * Conversions: %d %i %u %x %X %o %c %s %p %% and %f/%F; length modifiers hh h l ll z j t; flags
 * - 0 + space #; width and precision (also as *). "%.*s" prints a string that is not
 * NUL-terminated. %f is exact and correctly rounded (half to even), precision at most 17; it
 * needs a caller built with SSE to pass the double (see glint_format_f64 otherwise). Unknown
 * conversions are copied as they are.
 */
int glint_snprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same with a va_list. */
int glint_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

/*
 * "%.<precision>f" of the f64 whose IEEE 754 bits are `bits` (precision 0-17, -1 for 6), into buf
 * as glint_snprintf would, for code built with general-purpose registers only (such code cannot
 * pass a double to a variadic function). Pair it with glint_arg_f64_bits.
 */
int glint_format_f64(char *buf, size_t size, uint64_t bits, int precision);

/* ------------------------------------------------------------------------------------------ */
/* Memory and strings: the small libc a guest needs                                           */
/* ------------------------------------------------------------------------------------------ */

/*
 * The usual C semantics. gcc may emit calls to memcpy, memmove, memset and memcmp by itself, so
 * the SDK provides them under their standard names.
 */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);

/*
 * Heap allocation over the heap region of the descriptor page (ABI 1, 2). Blocks are 16-byte
 * aligned. malloc returns NULL when the heap is exhausted (never aborts); free(NULL) does
 * nothing; realloc(NULL, n) is malloc(n); realloc(p, 0) frees p and returns NULL; calloc checks
 * nmemb * size for overflow.
 */
void *malloc(size_t size);
void free(void *ptr);
void *calloc(size_t nmemb, size_t size);
void *realloc(void *ptr, size_t size);

/* ------------------------------------------------------------------------------------------ */
/* Utilities                                                                                  */
/* ------------------------------------------------------------------------------------------ */

/* Returns true when the len bytes at s are well-formed UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF). */
bool glint_utf8_valid(const void *s, size_t len);

/* SHA-256 (FIPS 180-4), incremental. */
typedef struct glint_sha256 {
  uint32_t h[8];
  uint64_t total; /* bytes hashed so far */
  uint8_t block[64];
  uint32_t used; /* bytes waiting in block */
} glint_sha256_ctx;

void glint_sha256_init(glint_sha256_ctx *ctx);
void glint_sha256_update(glint_sha256_ctx *ctx, const void *data, size_t len);
/* Writes the 32-byte digest; ctx must be initialized again before reuse. */
void glint_sha256_final(glint_sha256_ctx *ctx, uint8_t digest[32]);
/* One-shot digest of len bytes. */
void glint_sha256(const void *data, size_t len, uint8_t digest[32]);

/* The descriptor page the host wrote (ABI 2), for guests that want to know their layout. */
typedef struct glint_descriptor {
  uint32_t magic; /* 0x544E4C47, "GLNT" */
  uint16_t abi_major;
  uint16_t abi_minor;
  uint64_t memory_size;
  uint64_t input_addr;
  uint64_t input_size;
  uint64_t output_addr;
  uint64_t output_size;
  uint64_t heap_addr;
  uint64_t heap_size;
  uint64_t stack_top;
  uint64_t stack_size;
  uint32_t privilege_level; /* 0 or 3 */
  uint32_t reserved;
} glint_descriptor;

/* The descriptor page, valid from entry on. */
const glint_descriptor *glint_descriptor_page(void);

#ifdef __cplusplus
}
#endif

#endif /* GLINT_H */
