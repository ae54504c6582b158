/*
 * The runtime (runtime.c) on the build machine: the guest runs on a thread of its own that only
 * ever runs while this file waits (a coroutine), and each `out` becomes a hand-over back to this
 * file, which plays the host: it checks the record the guest wrote, writes calls and host results,
 * and resumes. This covers what a real host cannot easily provoke: malformed or mistyped host
 * results, host calls during initialization, result parking, oversized results and messages, and
 * bad descriptor pages.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

/* ---- the fake vCPU ---- */

typedef struct vcpu {
  sem_t run;  /* posted by the host to let the guest run */
  sem_t exit; /* posted by the guest at each `out` */
  uint16_t port;
  const glint_descriptor *desc;
} vcpu;

static vcpu *current_vcpu;          /* the guest the host talks to */
static __thread vcpu *this_vcpu;    /* on a guest thread: its own vCPU */

void glint_test_signal(uint16_t port) {
  vcpu *v = this_vcpu;
  if (!v) { /* glint_abort outside a guest run: a bug in the SDK or a test */
    fprintf(stderr, "SDK signalled port 0x%x outside a guest run\n", port);
    printf("%d passed, %d failed\n", tests_passed, tests_failed + 1);
    exit(1);
  }
  v->port = port;
  sem_post(&v->exit);
  sem_wait(&v->run);
}

static void *guest_thread(void *arg) {
  vcpu *v = arg;
  this_vcpu = v;
  sem_wait(&v->run);
  glint_main(v->desc);
}

/* Starts a guest on a new thread, stopped before its first instruction. A guest that is never
 * resumed again stays parked until the test binary exits. */
static void start_guest(const glint_descriptor *d) {
  vcpu *v = calloc(1, sizeof *v);
  sem_init(&v->run, 0, 0);
  sem_init(&v->exit, 0, 0);
  v->desc = d;
  pthread_t t;
  pthread_create(&t, NULL, guest_thread, v);
  pthread_detach(t);
  current_vcpu = v;
}

/* Lets the guest run until its next `out`; returns the port. */
static uint16_t resume(void) {
  sem_post(&current_vcpu->run);
  sem_wait(&current_vcpu->exit);
  return current_vcpu->port;
}

/* ---- memory: absolute host addresses stand in for guest-physical ones ---- */

#define IN_SIZE (64u << 10)
#define OUT_SIZE 4096u /* small, to reach "result too large" and parking limits */
#define HEAP_BYTES (64u << 10)

static uint8_t *in, *out, *heap;
static glint_descriptor desc;

static void make_descriptor(void) {
  in = aligned_alloc(4096, IN_SIZE);
  out = aligned_alloc(4096, OUT_SIZE);
  heap = aligned_alloc(4096, HEAP_BYTES);
  memset(in, 0, IN_SIZE);
  memset(out, 0, OUT_SIZE);
  desc = (glint_descriptor){0x544E4C47u, 1, 0, 0, (uint64_t)in, IN_SIZE, (uint64_t)out, OUT_SIZE,
                            (uint64_t)heap, HEAP_BYTES, 0, 0, 3, 0};
  /* The runtime checks that buffers lie inside [0x1000, memory size): make "memory" end at the
   * top of the address space here. */
  desc.memory_size = ~(uint64_t)0 >> 1;
}

/* ---- the guest: its functions record what they saw in these globals ---- */

static int host_rc;
static glint_value host_value;
static char host_msg[128];
static char big_bytes[8192];

static void fn_add(const glint_args *a, glint_result *r) {
  glint_result_i32(r, glint_arg_i32(a, 0) + glint_arg_i32(a, 1));
}
static void fn_echo(const glint_args *a, glint_result *r) {
  uint32_t len;
  const char *s = glint_arg_string(a, 0, &len);
  glint_result_string(r, s, len);
}
static void fn_no_result(const glint_args *a, glint_result *r) {}
static void fn_wrong_type(const glint_args *a, glint_result *r) { glint_result_cstring(r, "x"); }
static void fn_bad_utf8(const glint_args *a, glint_result *r) { glint_result_string(r, "\xff", 1); }
static void fn_big(const glint_args *a, glint_result *r) {
  glint_result_bytes(r, big_bytes, glint_arg_u32(a, 0));
}
static void fn_result_then_log(const glint_args *a, glint_result *r) {
  uint32_t len;
  const char *s = glint_arg_string(a, 0, &len);
  glint_result_string(r, s, len);
  glint_log(GLINT_LOG_INFO, "after %d", 1);
}
static void fn_host(const glint_args *a, glint_result *r) {
  glint_value arg = glint_i32(7);
  host_value = (glint_value){GLINT_VOID, {.u64 = 0}};
  host_rc = glint_host_call("H", GLINT_I32, 1, &arg, &host_value);
  uint32_t len;
  const char *m = glint_host_error(&len);
  snprintf(host_msg, sizeof host_msg, "%.*s", (int)len, m);
}
static void fn_log_big(const glint_args *a, glint_result *r) {
  static char text[70001];
  memset(text, 'x', sizeof text - 1);
  text[5] = (char)0xFF; /* not UTF-8: must arrive as '?' */
  glint_log(GLINT_LOG_DEBUG, "%s", text);
}
static void fn_bad_arg(const glint_args *a, glint_result *r) { glint_arg_i32(a, 0); }
static void fn_fail(const glint_args *a, glint_result *r) {
  glint_result_error(r, 321, "failed with %s", "reason");
}

static int init_host_rc;
static glint_value init_host_value;

void glint_init(void) {
  static const glint_type two_i32[] = {GLINT_I32, GLINT_I32}, string[] = {GLINT_STRING},
                          u32[] = {GLINT_U32};
  glint_log(GLINT_LOG_INFO, "init %s", "starts");
  glint_value arg = glint_string("during init");
  init_host_rc = glint_host_call("InitH", GLINT_U64, 1, &arg, &init_host_value);
  glint_register("Add", GLINT_I32, 2, two_i32, fn_add);
  glint_register("Echo", GLINT_STRING, 1, string, fn_echo);
  glint_register("NoResult", GLINT_I32, 0, NULL, fn_no_result);
  glint_register("WrongType", GLINT_I32, 0, NULL, fn_wrong_type);
  glint_register("BadUtf8", GLINT_STRING, 0, NULL, fn_bad_utf8);
  glint_register("Big", GLINT_BYTES, 1, u32, fn_big);
  glint_register("ResultThenLog", GLINT_STRING, 1, string, fn_result_then_log);
  glint_register("Host", GLINT_VOID, 0, NULL, fn_host);
  glint_register("LogBig", GLINT_VOID, 0, NULL, fn_log_big);
  glint_register("BadArg", GLINT_VOID, 0, NULL, fn_bad_arg);
  glint_register("Fail", GLINT_VOID, 0, NULL, fn_fail);
}

/* ---- the host side ---- */

static size_t write_call(const char *name, int argc, const glint_value *args) {
  glint_writer w;
  glint_w_init(&w, in, IN_SIZE);
  if (!glint_wire_encode_call(&w, GLINT_KIND_CALL, name, strlen(name), argc, args)) abort();
  return w.len;
}

/* Decodes the return record; status 99 when it does not decode. */
static glint_outcome returned(void) {
  glint_outcome o;
  const char *err;
  if (!glint_wire_decode_outcome(out, OUT_SIZE, GLINT_KIND_RETURN, &o, &err)) o.status = 99;
  return o;
}

static bool message_is(const glint_outcome *o, const char *text) {
  return o->message_len == strlen(text) && memcmp(o->message, text, o->message_len) == 0;
}

/* Writes a host result at `at` in the input buffer from raw bytes. */
static void host_result_raw(size_t at, const uint8_t *bytes, size_t n) { memcpy(in + at, bytes, n); }

static void host_result_value(size_t at, glint_value v) {
  glint_writer w;
  glint_w_init(&w, in + at, IN_SIZE - at);
  glint_wire_encode_ok(&w, GLINT_KIND_HOST_RESULT, &v);
}

static void host_result_error(size_t at, uint16_t code, const char *msg) {
  glint_writer w;
  glint_w_init(&w, in + at, IN_SIZE - at);
  glint_wire_encode_error(&w, GLINT_KIND_HOST_RESULT, code, msg, (uint32_t)strlen(msg));
}

static void bad_descriptors(void) {
  make_descriptor();
  glint_descriptor bad = desc;
  bad.magic = 0x12345678;
  start_guest(&bad);
  CHECK(resume() == GLINT_PORT_ABORT, "bad magic: ABORT");
  CHECK(out[0] == 0, "bad magic: nothing written (the output buffer is unknown)");

  bad = desc;
  bad.abi_major = 2;
  start_guest(&bad);
  CHECK(resume() == GLINT_PORT_ABORT, "ABI 2.0: ABORT");
  glint_reader r;
  size_t size;
  const char *err;
  CHECK(glint_wire_open(out, OUT_SIZE, GLINT_KIND_ABORT, &r, &size, &err), "abort record");
  CHECK((int32_t)glint_r_u32(&r) == GLINT_ABORT_DESCRIPTOR, "abort code -1");
  uint32_t n = glint_r_u32(&r);
  const char *msg = (const char *)glint_r_raw(&r, n);
  const char *want = "guest built for ABI 1.0, host offers 2.0";
  CHECK(msg && n == strlen(want) && memcmp(msg, want, n) == 0, "abort message: %.*s", (int)n,
        msg ? msg : "");
  CHECK(resume() == GLINT_PORT_ABORT, "an aborted guest that is resumed aborts again");

  bad = desc;
  bad.output_size = ~(uint64_t)0 - bad.output_addr + 2; /* wraps around */
  memset(out, 0, OUT_SIZE);
  start_guest(&bad);
  CHECK(resume() == GLINT_PORT_ABORT && out[0] == 0, "output buffer outside memory: bare ABORT");
}

static void initialization(void) {
  memset(out, 0, OUT_SIZE);
  start_guest(&desc);
  CHECK(resume() == GLINT_PORT_LOG, "init logs first");
  glint_reader r;
  size_t size;
  const char *err;
  CHECK(glint_wire_open(out, OUT_SIZE, GLINT_KIND_LOG, &r, &size, &err) && glint_r_u8(&r) == 3 &&
            glint_r_u32(&r) == 11 && memcmp(glint_r_raw(&r, 11), "init starts", 11) == 0,
        "init log record");

  CHECK(resume() == GLINT_PORT_HOST_CALL, "init makes a host call");
  glint_call call;
  CHECK(glint_wire_decode_call(out, OUT_SIZE, GLINT_KIND_HOST_CALL, &call, &err) &&
            call.name_len == 5 && memcmp(call.name, "InitH", 5) == 0 && call.argc == 1 &&
            call.args[0].type == GLINT_STRING && call.args[0].as.buf.len == 11,
        "init host call record");
  /* No call record yet: the result goes at offset 0 (ABI 7.4). */
  host_result_value(0, glint_u64(0xFEEDull << 32));

  CHECK(resume() == GLINT_PORT_READY, "READY");
  CHECK(init_host_rc == 0 && init_host_value.type == GLINT_U64 &&
            init_host_value.as.u64 == 0xFEEDull << 32,
        "init host call got its result from offset 0 (rc %d)", init_host_rc);
  /* The table: 11 functions, the first Add(i32, i32) -> i32. */
  CHECK(glint_wire_open(out, OUT_SIZE, GLINT_KIND_TABLE, &r, &size, &err), "table record");
  CHECK(glint_r_u16(&r) == 11, "11 functions");
  const char *name;
  uint16_t len;
  CHECK(glint_r_name(&r, &name, &len) && len == 3 && memcmp(name, "Add", 3) == 0, "first: Add");
  CHECK(glint_r_u8(&r) == GLINT_I32 && glint_r_u8(&r) == 2 && glint_r_u8(&r) == GLINT_I32 &&
            glint_r_u8(&r) == GLINT_I32,
        "Add's signature");
  for (int i = 1; i < 11; i++) {
    glint_r_name(&r, &name, &len);
    glint_r_u8(&r);
    uint8_t np = glint_r_u8(&r);
    glint_r_raw(&r, np);
  }
  CHECK(glint_r_done(&r), "table has nothing after the 11th entry: %s", r.err ? r.err : "");
}

static void calls(void) {
  glint_value args[] = {glint_i32(40), glint_i32(2)};
  write_call("Add", 2, args);
  CHECK(resume() == GLINT_PORT_RETURN, "Add returns");
  glint_outcome o = returned();
  CHECK(o.status == 0 && o.value.type == GLINT_I32 && o.value.as.i32 == 42, "Add(40, 2) = 42");

  glint_value s = glint_string("h\xc3\xa9");
  write_call("Echo", 1, &s);
  resume();
  o = returned();
  CHECK(o.status == 0 && o.value.type == GLINT_STRING && o.value.as.buf.len == 3 &&
            memcmp(o.value.as.buf.ptr, "h\xc3\xa9", 3) == 0,
        "Echo");

  write_call("Nope", 0, NULL);
  resume();
  o = returned();
  CHECK(o.status == 1 && o.code == GLINT_ERR_NOT_FOUND &&
            message_is(&o, "no guest function named 'Nope'"),
        "unknown function: code 1");
  write_call("Add", 1, args);
  resume();
  o = returned();
  CHECK(o.status == 1 && o.code == GLINT_ERR_ARGUMENTS &&
            message_is(&o, "Add takes 2 arguments, the call has 1"),
        "argument count");
  glint_value mixed[] = {glint_i32(1), glint_u32(2)};
  write_call("Add", 2, mixed);
  resume();
  o = returned();
  CHECK(o.status == 1 && o.code == GLINT_ERR_ARGUMENTS &&
            message_is(&o, "Add: argument 1 is u32, declared i32"),
        "argument type");
  memcpy(in, "GL\x01\x01\xff\xff\x00\x00", 8); /* payload length beyond the buffer */
  resume();
  o = returned();
  CHECK(o.status == 1 && o.code == GLINT_ERR_ARGUMENTS &&
            message_is(&o, "malformed call record: payload length exceeds the buffer"),
        "malformed call record");

  write_call("NoResult", 0, NULL);
  resume();
  o = returned();
  CHECK(o.status == 1 && o.code == GLINT_ERR_FAILED &&
            message_is(&o, "NoResult returned without setting its i32 result"),
        "no result");
  write_call("WrongType", 0, NULL);
  resume();
  o = returned();
  CHECK(o.status == 1 && o.code == GLINT_ERR_FAILED &&
            message_is(&o, "WrongType returned string but declares i32"),
        "wrong result type");
  write_call("BadUtf8", 0, NULL);
  resume();
  o = returned();
  CHECK(o.status == 1 && o.code == GLINT_ERR_FAILED, "ill-formed UTF-8 result refused");
  write_call("Fail", 0, NULL);
  resume();
  o = returned();
  CHECK(o.status == 1 && o.code == 321 && message_is(&o, "failed with reason"), "guest error");

  /* The output buffer holds 4096 bytes: a return record adds 8 + 1 + 1 + 4 to the data. */
  glint_value n = glint_u32(OUT_SIZE - 14);
  write_call("Big", 1, &n);
  resume();
  o = returned();
  CHECK(o.status == 0 && o.value.as.buf.len == OUT_SIZE - 14, "largest result that fits");
  n = glint_u32(OUT_SIZE - 13);
  write_call("Big", 1, &n);
  resume();
  o = returned();
  CHECK(o.status == 1 && o.code == GLINT_ERR_TOO_LARGE, "one byte more: code 4");
}

static void parking(void) {
  glint_value s = glint_string("kept");
  write_call("ResultThenLog", 1, &s);
  CHECK(resume() == GLINT_PORT_LOG, "the log comes after the result was set");
  glint_reader r;
  size_t size;
  const char *err;
  CHECK(glint_wire_open(out, OUT_SIZE, GLINT_KIND_LOG, &r, &size, &err), "log at the start");
  CHECK(resume() == GLINT_PORT_RETURN, "then RETURN");
  glint_outcome o = returned();
  CHECK(o.status == 0 && o.value.as.buf.len == 4 && memcmp(o.value.as.buf.ptr, "kept", 4) == 0,
        "the result survived the log");

  /* A result too large to park next to a log: the log is dropped, the result kept. */
  char text[3000];
  memset(text, 'a', sizeof text);
  s = glint_stringn(text, sizeof text);
  write_call("ResultThenLog", 1, &s);
  CHECK(resume() == GLINT_PORT_RETURN, "no room for the log: dropped");
  o = returned();
  CHECK(o.status == 0 && o.value.as.buf.len == sizeof text, "big result kept");

  write_call("LogBig", 0, NULL);
  CHECK(resume() == GLINT_PORT_LOG, "big log");
  CHECK(glint_wire_open(out, OUT_SIZE, GLINT_KIND_LOG, &r, &size, &err) &&
            size == OUT_SIZE - 1, /* the message fills the buffer but for the formatter's NUL */
        "log truncated to the output buffer (%zu)", size);
  glint_r_u8(&r);
  uint32_t len = glint_r_u32(&r);
  const uint8_t *m = glint_r_raw(&r, len);
  CHECK(m && m[5] == '?' && glint_utf8_valid(m, len), "non-UTF-8 byte replaced by '?'");
  resume();
  CHECK(returned().status == 0, "LogBig returns void");
}

static void host_calls(void) {
  size_t call_size = write_call("Host", 0, NULL);
  size_t at = (call_size + 7) & ~(size_t)7;
  CHECK(resume() == GLINT_PORT_HOST_CALL, "host call");
  glint_call call;
  const char *err;
  CHECK(glint_wire_decode_call(out, OUT_SIZE, GLINT_KIND_HOST_CALL, &call, &err) &&
            call.argc == 1 && call.args[0].type == GLINT_I32 && call.args[0].as.i32 == 7,
        "host call record H(7)");
  memset(in + call_size, 0xEE, at - call_size + 64); /* garbage, except at the right offset */
  host_result_value(at, glint_i32(8));
  resume();
  CHECK(host_rc == 0 && host_value.type == GLINT_I32 && host_value.as.i32 == 8 &&
            host_msg[0] == 0,
        "result read at the first multiple of 8 after the call record (rc %d)", host_rc);

  struct {
    const char *what;
    int want_rc;
    const char *want_msg;
  } cases[] = {
      {"host error 2", 2, "argument type mismatch"},
      {"wrong result type", GLINT_HOST_E_TYPE, "host call H returned string, expected i32"},
      {"garbage", GLINT_HOST_E_PROTOCOL, "host call H: malformed host result: bad record magic"},
      {"error code 0", GLINT_HOST_E_PROTOCOL, "zero"},
      {"trailing byte", GLINT_HOST_E_PROTOCOL,
       "host call H: malformed host result: bytes left after the last value"},
      {"kind 2", GLINT_HOST_E_PROTOCOL,
       "host call H: malformed host result: unexpected record kind"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    write_call("Host", 0, NULL);
    resume();
    memset(in + at, 0, 64);
    switch (i) {
      case 0: host_result_error(at, 2, "argument type mismatch"); break;
      case 1: host_result_value(at, glint_string("s")); break;
      case 2: host_result_raw(at, (const uint8_t *)"garbage!", 8); break;
      case 3: host_result_error(at, 0, "zero"); break;
      case 4: {
        static const uint8_t rec[] = {0x47, 0x4C, 1, 4, 7, 0, 0, 0, 0, 1, 8, 0, 0, 0, 0};
        host_result_raw(at, rec, sizeof rec);
        break;
      }
      case 5: {
        host_result_value(at, glint_i32(1));
        in[at + 3] = 2;
        break;
      }
    }
    resume();
    CHECK(host_rc == cases[i].want_rc && strcmp(host_msg, cases[i].want_msg) == 0,
          "%s: rc %d '%s', want %d '%s'", cases[i].what, host_rc, host_msg, cases[i].want_rc,
          cases[i].want_msg);
    CHECK(returned().status == 0, "%s: the guest function still returns", cases[i].what);
  }
}

static void usage_abort(void) {
  write_call("BadArg", 0, NULL);
  CHECK(resume() == GLINT_PORT_ABORT, "reading a missing argument aborts");
  glint_reader r;
  size_t size;
  const char *err;
  CHECK(glint_wire_open(out, OUT_SIZE, GLINT_KIND_ABORT, &r, &size, &err), "abort record");
  CHECK((int32_t)glint_r_u32(&r) == GLINT_ABORT_USAGE, "code -2");
  uint32_t n = glint_r_u32(&r);
  const char *m = (const char *)glint_r_raw(&r, n);
  const char *want = "BadArg: argument 0 requested, the call has 0";
  CHECK(m && n == strlen(want) && memcmp(m, want, n) == 0, "message '%.*s'", (int)n, m ? m : "");
}

void test_runtime(void) {
  memset(big_bytes, 0x5A, sizeof big_bytes);
  bad_descriptors();
  initialization();
  calls();
  parking();
  host_calls();
  usage_abort();
}
