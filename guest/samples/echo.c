/*
 * echo - returns what it is given: a test guest for the wire format, one function per type.
 *
 *   EchoI32(i32) -> i32        EchoU32(u32) -> u32        EchoI64(i64) -> i64
 *   EchoU64(u64) -> u64        EchoF32(f32) -> f32        EchoF64(f64) -> f64
 *   EchoBool(bool) -> bool     EchoString(string) -> string
 *   EchoBytes(bytes) -> bytes  EchoVoid() -> void
 *       Each returns its argument unchanged; f32/f64 bit for bit (NaN payloads included).
 *   Concat(string s, i32 i, bool b, f64 d) -> string
 *       "<s>|<i>|<true or false>|<d with three decimals>", e.g. ("a", -7, true, 2.5) ->
 *       "a|-7|true|2.500" (d as "%.3f" would print it, exactly rounded, via glint_format_f64).
 *   Sum16(i64 x 16) -> i64
 *       The sum of its sixteen arguments (wrapping): the most parameters a function may have.
 *   CallHost(string name, i32 x) -> i32
 *       Calls host function `name` with the single i32 argument x, expecting an i32 back, and
 *       returns it. If the host call fails, this call fails: status 1, code 3 (GLINT_ERR_FAILED),
 *       message "host call <name> failed (<code>): <host message>", where <code> is the host's
 *       error code (1 not found, 2 argument type mismatch, 3 host function failed, 4 too large)
 *       or a negative SDK code (-1 encode, -2 malformed host result, -3 wrong result type).
 *   CallHostWrongTypes() -> i32
 *       Calls host function HostPrint, declared HostPrint(string) -> i32, with an i32 instead of a
 *       string. Returns the negated error code it got: -2 (argument type mismatch) from a correct
 *       host. Returns 2147483647 if the host accepted the call.
 *   HostEcho(string s) -> string
 *       Calls host function HostEcho(string) -> string with s and returns the host's string.
 *   Log(i32 level, string message) -> void
 *       Logs the message at that level (1 error .. 5 trace; others are clamped) and returns.
 *   ResultThenLog(string s) -> string
 *       Sets s as its result first, then logs "after result" at info level, then returns: the
 *       result must survive the log record written to the output buffer in between.
 *   Fail(i32 code, string message) -> void
 *       Fails the call: status 1 with that code (taken as u16) and message.
 */
#include <glint.h>

static void echo_i32(const glint_args *a, glint_result *r) { glint_result_i32(r, glint_arg_i32(a, 0)); }
static void echo_u32(const glint_args *a, glint_result *r) { glint_result_u32(r, glint_arg_u32(a, 0)); }
static void echo_i64(const glint_args *a, glint_result *r) { glint_result_i64(r, glint_arg_i64(a, 0)); }
static void echo_u64(const glint_args *a, glint_result *r) { glint_result_u64(r, glint_arg_u64(a, 0)); }
static void echo_bool(const glint_args *a, glint_result *r) {
  glint_result_bool(r, glint_arg_bool(a, 0));
}
/* Floats travel as bit patterns, so the echo is bit-exact without touching an FPU register. */
static void echo_f32(const glint_args *a, glint_result *r) {
  glint_result_f32_bits(r, glint_arg_f32_bits(a, 0));
}
static void echo_f64(const glint_args *a, glint_result *r) {
  glint_result_f64_bits(r, glint_arg_f64_bits(a, 0));
}
static void echo_string(const glint_args *a, glint_result *r) {
  uint32_t len;
  const char *s = glint_arg_string(a, 0, &len);
  glint_result_string(r, s, len);
}
static void echo_bytes(const glint_args *a, glint_result *r) {
  uint32_t len;
  const void *p = glint_arg_bytes(a, 0, &len);
  glint_result_bytes(r, p, len);
}
static void echo_void(const glint_args *a, glint_result *r) { glint_result_void(r); }

static void concat(const glint_args *a, glint_result *r) {
  uint32_t len;
  const char *s = glint_arg_string(a, 0, &len);
  int32_t i = glint_arg_i32(a, 1);
  bool b = glint_arg_bool(a, 2);
  /* The double stays a bit pattern: this guest runs no SSE code, so it also runs at CPL 0 on
   * hosts where KVM emulates that level (see glint.h). */
  char d[340];
  glint_format_f64(d, sizeof d, glint_arg_f64_bits(a, 3), 3);
  /* Measure first, then format into a heap block of the right size: s may be long. */
  int n = glint_snprintf(NULL, 0, "%.*s|%d|%s|%s", (int)len, s, i, b ? "true" : "false", d);
  char *text = malloc((size_t)n + 1);
  if (!text) {
    glint_result_error(r, GLINT_ERR_FAILED, "Concat: out of heap for %d bytes", n + 1);
    return;
  }
  glint_snprintf(text, (size_t)n + 1, "%.*s|%d|%s|%s", (int)len, s, i, b ? "true" : "false", d);
  glint_result_string(r, text, (uint32_t)n);
  free(text);
}

static void sum16(const glint_args *a, glint_result *r) {
  uint64_t sum = 0;
  for (int i = 0; i < 16; i++) sum += (uint64_t)glint_arg_i64(a, i);
  glint_result_i64(r, (int64_t)sum);
}

static void call_host(const glint_args *a, glint_result *r) {
  uint32_t len;
  const char *name = glint_arg_string(a, 0, &len);
  /* glint_host_call takes a NUL-terminated name; the argument is not terminated. */
  char cname[256];
  if (len >= sizeof cname) {
    glint_result_error(r, GLINT_ERR_FAILED, "CallHost: name longer than 255 bytes");
    return;
  }
  memcpy(cname, name, len);
  cname[len] = '\0';
  glint_value arg = glint_i32(glint_arg_i32(a, 1));
  glint_value ret;
  int rc = glint_host_call(cname, GLINT_I32, 1, &arg, &ret);
  if (rc != 0) {
    uint32_t mlen;
    const char *msg = glint_host_error(&mlen);
    glint_result_error(r, GLINT_ERR_FAILED, "host call %s failed (%d): %.*s", cname, rc, (int)mlen,
                       msg);
    return;
  }
  glint_result_i32(r, ret.as.i32);
}

static void call_host_wrong_types(const glint_args *a, glint_result *r) {
  glint_value arg = glint_i32(42); /* HostPrint takes a string */
  int rc = glint_host_call("HostPrint", GLINT_I32, 1, &arg, NULL);
  glint_result_i32(r, rc != 0 ? -rc : 2147483647);
}

static void host_echo(const glint_args *a, glint_result *r) {
  uint32_t len;
  const char *s = glint_arg_string(a, 0, &len);
  glint_value arg = glint_stringn(s, len);
  glint_value ret;
  int rc = glint_host_call("HostEcho", GLINT_STRING, 1, &arg, &ret);
  if (rc != 0) {
    uint32_t mlen;
    const char *msg = glint_host_error(&mlen);
    glint_result_error(r, GLINT_ERR_FAILED, "host call HostEcho failed (%d): %.*s", rc, (int)mlen,
                       msg);
    return;
  }
  glint_result_string(r, ret.as.buf.ptr, ret.as.buf.len);
}

static void log_message(const glint_args *a, glint_result *r) {
  uint32_t len;
  const char *s = glint_arg_string(a, 1, &len);
  glint_log(glint_arg_i32(a, 0), "%.*s", (int)len, s);
}

static void result_then_log(const glint_args *a, glint_result *r) {
  uint32_t len;
  const char *s = glint_arg_string(a, 0, &len);
  glint_result_string(r, s, len);
  glint_log(GLINT_LOG_INFO, "after result");
}

static void fail(const glint_args *a, glint_result *r) {
  uint32_t len;
  const char *s = glint_arg_string(a, 1, &len);
  glint_result_error(r, (uint16_t)glint_arg_i32(a, 0), "%.*s", (int)len, s);
}

void glint_init(void) {
  static const glint_type i32[] = {GLINT_I32}, u32[] = {GLINT_U32}, i64[] = {GLINT_I64},
                          u64[] = {GLINT_U64}, f32[] = {GLINT_F32}, f64[] = {GLINT_F64},
                          boolean[] = {GLINT_BOOL}, string[] = {GLINT_STRING},
                          bytes[] = {GLINT_BYTES};
  glint_register("EchoI32", GLINT_I32, 1, i32, echo_i32);
  glint_register("EchoU32", GLINT_U32, 1, u32, echo_u32);
  glint_register("EchoI64", GLINT_I64, 1, i64, echo_i64);
  glint_register("EchoU64", GLINT_U64, 1, u64, echo_u64);
  glint_register("EchoF32", GLINT_F32, 1, f32, echo_f32);
  glint_register("EchoF64", GLINT_F64, 1, f64, echo_f64);
  glint_register("EchoBool", GLINT_BOOL, 1, boolean, echo_bool);
  glint_register("EchoString", GLINT_STRING, 1, string, echo_string);
  glint_register("EchoBytes", GLINT_BYTES, 1, bytes, echo_bytes);
  glint_register("EchoVoid", GLINT_VOID, 0, NULL, echo_void);

  static const glint_type concat_params[] = {GLINT_STRING, GLINT_I32, GLINT_BOOL, GLINT_F64};
  glint_register("Concat", GLINT_STRING, 4, concat_params, concat);
  static const glint_type sixteen[16] = {GLINT_I64, GLINT_I64, GLINT_I64, GLINT_I64,
                                         GLINT_I64, GLINT_I64, GLINT_I64, GLINT_I64,
                                         GLINT_I64, GLINT_I64, GLINT_I64, GLINT_I64,
                                         GLINT_I64, GLINT_I64, GLINT_I64, GLINT_I64};
  glint_register("Sum16", GLINT_I64, 16, sixteen, sum16);
  static const glint_type name_i32[] = {GLINT_STRING, GLINT_I32};
  glint_register("CallHost", GLINT_I32, 2, name_i32, call_host);
  glint_register("CallHostWrongTypes", GLINT_I32, 0, NULL, call_host_wrong_types);
  glint_register("HostEcho", GLINT_STRING, 1, string, host_echo);
  static const glint_type level_message[] = {GLINT_I32, GLINT_STRING};
  glint_register("Log", GLINT_VOID, 2, level_message, log_message);
  glint_register("ResultThenLog", GLINT_STRING, 1, string, result_then_log);
  glint_register("Fail", GLINT_VOID, 2, level_message, fail);
}
