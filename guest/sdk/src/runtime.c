/*
 * runtime.c - the guest side of ABI sections 4 and 7: start-up, the function table, the dispatch
 * loop, results, host calls, logs and aborts.
 *
 * Signalling is `out dx, al` to the ports of ABI 7.1; the host reads the output buffer at that exit
 * and, for calls and host results, writes the input buffer before it resumes us. The asm statement
 * clobbers "memory" so that the compiler neither keeps buffer contents in registers across an exit
 * nor sinks stores to the output buffer below it.
 */
#include "internal.h"

typedef struct fn_entry {
  const char *name;
  uint16_t name_len;
  uint8_t ret;
  uint8_t nparams;
  uint8_t params[GLINT_MAX_PARAMS];
  glint_fn fn;
} fn_entry;

struct glint_args {
  int count;
  const fn_entry *fn;
  glint_value v[GLINT_MAX_PARAMS];
};

struct glint_result {
  const fn_entry *fn;
  bool set;
  size_t len; /* size of the encoded return record */
  size_t at;  /* where it sits in the output buffer: 0, or parked at the tail (see park_result) */
};

static const glint_descriptor *desc;
static const uint8_t *in_buf;
static size_t in_size;
static uint8_t *out_buf;
static size_t out_size;

static fn_entry table[GLINT_MAX_FUNCTIONS];
static int nfuncs;
static bool initializing;

/* End of the current call record in the input buffer: host results go after it (ABI 7.4). */
static size_t call_end;
/* The result of the call in progress, NULL outside calls. */
static glint_result *current;

/* Message of the last failed host call: in the input buffer (host error) or in local_err. */
static const char *host_err;
static uint32_t host_err_len;
static char local_err[200];

#ifdef GLINT_NATIVE_TEST
/* The native tests run this file as a coroutine and play the host at each port (test_runtime.c). */
void glint_test_signal(uint16_t port);
static inline void signal_host(uint16_t port) { glint_test_signal(port); }
#else
static inline void signal_host(uint16_t port) {
  __asm__ volatile("outb %%al, %%dx" : : "a"((uint8_t)0), "d"(port) : "memory");
}
#endif

const glint_descriptor *glint_descriptor_page(void) { return desc; }

/* ---- messages ---- */

/*
 * Formats a message straight into the output buffer at `offset`, within `cap` bytes of buffer,
 * and returns its length: at most 64 KiB, with anything that is not UTF-8 replaced, so that the
 * host never rejects a record for its message.
 */
static uint32_t format_at(size_t offset, size_t cap, const char *fmt, va_list ap) {
  if (cap <= offset + 1) return 0;
  size_t room = cap - offset;
  if (room > GLINT_MAX_MESSAGE + 1) room = GLINT_MAX_MESSAGE + 1;
  int n = glint_vsnprintf((char *)out_buf + offset, room, fmt, ap);
  size_t len = (size_t)n < room - 1 ? (size_t)n : room - 1;
  glint_utf8_sanitize((char *)out_buf + offset, len);
  return (uint32_t)len;
}

void glint_vabort(int32_t code, const char *fmt, va_list ap) {
  if (out_buf && out_size >= 16) {
    /* Abort record: header (8), i32 code, u32 length, message at 16. */
    uint32_t len = format_at(16, out_size, fmt, ap);
    glint_writer w;
    glint_w_init(&w, out_buf, out_size);
    glint_wire_encode_abort(&w, code, (const char *)out_buf + 16, len);
  }
  /* The host poisons the sandbox at ABORT; if it resumes us anyway, say it again. */
  for (;;) signal_host(GLINT_PORT_ABORT);
}

/*
 * A result set before a log or a host call must survive them, yet both records go at the start of
 * the output buffer. The host reads only the record at the start, so the result waits at the
 * buffer's tail meanwhile and moves back before RETURN. Returns the room left at the start.
 */
static size_t park_result(void) {
  if (!current || !current->set) return out_size;
  if (current->at == 0) {
    size_t at = (out_size - current->len) & ~(size_t)7;
    if (at < current->len) return 0; /* no room for both: the other record cannot be written */
    memmove(out_buf + at, out_buf, current->len);
    current->at = at;
  }
  return current->at;
}

void glint_vlog(int level, const char *fmt, va_list ap) {
  size_t cap = park_result();
  if (cap < 16) return; /* nowhere to write: dropping a log is better than failing the call */
  if (level < GLINT_LOG_ERROR) level = GLINT_LOG_ERROR;
  if (level > GLINT_LOG_TRACE) level = GLINT_LOG_TRACE;
  /* Log record: header (8), u8 level, u32 length, message at 13. */
  uint32_t len = format_at(13, cap, fmt, ap);
  glint_writer w;
  glint_w_init(&w, out_buf, cap);
  if (glint_wire_encode_log(&w, (uint8_t)level, (const char *)out_buf + 13, len)) {
    signal_host(GLINT_PORT_LOG);
  }
}

/* ---- registration ---- */

void glint_register(const char *name, glint_type ret, int nparams, const glint_type *params,
                    glint_fn fn) {
  if (!initializing) glint_abort(GLINT_ABORT_USAGE, "glint_register outside glint_init");
  if (!name) glint_abort(GLINT_ABORT_USAGE, "glint_register: name is NULL");
  size_t len = strlen(name);
  if (len < 1 || len > GLINT_MAX_NAME || !glint_utf8_valid(name, len)) {
    glint_abort(GLINT_ABORT_USAGE, "glint_register: name '%s' is not 1-255 bytes of UTF-8", name);
  }
  if (nfuncs >= GLINT_MAX_FUNCTIONS) {
    glint_abort(GLINT_ABORT_USAGE, "glint_register(%s): more than 256 functions", name);
  }
  if ((unsigned)ret > GLINT_BYTES) {
    glint_abort(GLINT_ABORT_USAGE, "glint_register(%s): return type %d is not a type", name, ret);
  }
  if (nparams < 0 || nparams > GLINT_MAX_PARAMS || (nparams > 0 && !params)) {
    glint_abort(GLINT_ABORT_USAGE, "glint_register(%s): %d parameters (0-16 allowed)", name,
                nparams);
  }
  if (!fn) glint_abort(GLINT_ABORT_USAGE, "glint_register(%s): function is NULL", name);
  for (int i = 0; i < nfuncs; i++) {
    if (table[i].name_len == len && memcmp(table[i].name, name, len) == 0) {
      glint_abort(GLINT_ABORT_USAGE, "glint_register(%s): name registered twice", name);
    }
  }
  fn_entry *e = &table[nfuncs];
  for (int i = 0; i < nparams; i++) {
    if (!glint_is_param_type(params[i])) {
      glint_abort(GLINT_ABORT_USAGE, "glint_register(%s): parameter %d has type %d", name, i,
                  params[i]);
    }
    e->params[i] = (uint8_t)params[i];
  }
  e->name = name;
  e->name_len = (uint16_t)len;
  e->ret = (uint8_t)ret;
  e->nparams = (uint8_t)nparams;
  e->fn = fn;
  nfuncs++;
}

static const fn_entry *find(const char *name, size_t len) {
  for (int i = 0; i < nfuncs; i++) {
    if (table[i].name_len == len && memcmp(table[i].name, name, len) == 0) return &table[i];
  }
  return NULL;
}

/* ---- arguments ---- */

int glint_arg_count(const glint_args *args) { return args->count; }

const glint_value *glint_arg(const glint_args *args, int i) {
  return i >= 0 && i < args->count ? &args->v[i] : NULL;
}

static const glint_value *arg_of(const glint_args *args, int i, glint_type t) {
  if (i < 0 || i >= args->count) {
    glint_abort(GLINT_ABORT_USAGE, "%.*s: argument %d requested, the call has %d",
                args->fn->name_len, args->fn->name, i, args->count);
  }
  if (args->v[i].type != t) {
    glint_abort(GLINT_ABORT_USAGE, "%.*s: argument %d read as %s but is %s", args->fn->name_len,
                args->fn->name, i, glint_type_name(t), glint_type_name(args->v[i].type));
  }
  return &args->v[i];
}

int32_t glint_arg_i32(const glint_args *a, int i) { return arg_of(a, i, GLINT_I32)->as.i32; }
uint32_t glint_arg_u32(const glint_args *a, int i) { return arg_of(a, i, GLINT_U32)->as.u32; }
int64_t glint_arg_i64(const glint_args *a, int i) { return arg_of(a, i, GLINT_I64)->as.i64; }
uint64_t glint_arg_u64(const glint_args *a, int i) { return arg_of(a, i, GLINT_U64)->as.u64; }
bool glint_arg_bool(const glint_args *a, int i) { return arg_of(a, i, GLINT_BOOL)->as.b; }
uint32_t glint_arg_f32_bits(const glint_args *a, int i) {
  return arg_of(a, i, GLINT_F32)->as.f32_bits;
}
uint64_t glint_arg_f64_bits(const glint_args *a, int i) {
  return arg_of(a, i, GLINT_F64)->as.f64_bits;
}
const char *glint_arg_string(const glint_args *a, int i, uint32_t *len) {
  const glint_value *v = arg_of(a, i, GLINT_STRING);
  if (len) *len = v->as.buf.len;
  return v->as.buf.ptr;
}
const void *glint_arg_bytes(const glint_args *a, int i, uint32_t *len) {
  const glint_value *v = arg_of(a, i, GLINT_BYTES);
  if (len) *len = v->as.buf.len;
  return v->as.buf.ptr;
}

/* ---- results ---- */

void glint_result_verror(glint_result *r, uint16_t code, const char *fmt, va_list ap) {
  /* Return record, status 1: header (8), u8 status, u16 code, u32 length, message at 15. */
  uint32_t len = format_at(15, out_size, fmt, ap);
  glint_writer w;
  glint_w_init(&w, out_buf, out_size);
  if (!glint_wire_encode_error(&w, GLINT_KIND_RETURN, code, (const char *)out_buf + 15, len)) {
    glint_w_init(&w, out_buf, out_size);
    glint_wire_encode_error(&w, GLINT_KIND_RETURN, code, "", 0);
  }
  r->set = true;
  r->len = w.len;
  r->at = 0;
}

/* The SDK's own errors go through the variadic glint_result_error (varargs.c). */
#define result_error glint_result_error

void glint_result_value(glint_result *r, const glint_value *v) {
  const fn_entry *fn = r->fn;
  if ((unsigned)v->type > GLINT_BYTES || v->type != fn->ret) {
    result_error(r, GLINT_ERR_FAILED, "%.*s returned %s but declares %s", fn->name_len, fn->name,
                 glint_type_name(v->type), glint_type_name((glint_type)fn->ret));
    return;
  }
  if (v->type == GLINT_STRING && !glint_utf8_valid(v->as.buf.ptr, v->as.buf.len)) {
    result_error(r, GLINT_ERR_FAILED, "%.*s returned a string that is not UTF-8", fn->name_len,
                 fn->name);
    return;
  }
  glint_writer w;
  glint_w_init(&w, out_buf, out_size);
  if (!glint_wire_encode_ok(&w, GLINT_KIND_RETURN, v)) {
    result_error(r, GLINT_ERR_TOO_LARGE, "%.*s: result of %u bytes does not fit the %lu-byte output buffer",
                 fn->name_len, fn->name, (unsigned)v->as.buf.len, (unsigned long)out_size);
    return;
  }
  r->set = true;
  r->len = w.len;
  r->at = 0;
}

void glint_result_void(glint_result *r) {
  glint_value v = {GLINT_VOID, {.u64 = 0}};
  glint_result_value(r, &v);
}
void glint_result_i32(glint_result *r, int32_t x) {
  glint_value v = glint_i32(x);
  glint_result_value(r, &v);
}
void glint_result_u32(glint_result *r, uint32_t x) {
  glint_value v = glint_u32(x);
  glint_result_value(r, &v);
}
void glint_result_i64(glint_result *r, int64_t x) {
  glint_value v = glint_i64(x);
  glint_result_value(r, &v);
}
void glint_result_u64(glint_result *r, uint64_t x) {
  glint_value v = glint_u64(x);
  glint_result_value(r, &v);
}
void glint_result_bool(glint_result *r, bool x) {
  glint_value v = glint_bool(x);
  glint_result_value(r, &v);
}
void glint_result_f32_bits(glint_result *r, uint32_t bits) {
  glint_value v = {GLINT_F32, {.u64 = 0}};
  v.as.f32_bits = bits;
  glint_result_value(r, &v);
}
void glint_result_f64_bits(glint_result *r, uint64_t bits) {
  glint_value v = {GLINT_F64, {.f64_bits = bits}};
  glint_result_value(r, &v);
}
void glint_result_string(glint_result *r, const char *s, uint32_t len) {
  glint_value v = glint_stringn(s, len);
  glint_result_value(r, &v);
}
void glint_result_cstring(glint_result *r, const char *s) {
  glint_value v = glint_string(s);
  glint_result_value(r, &v);
}
void glint_result_bytes(glint_result *r, const void *p, uint32_t len) {
  glint_value v = glint_bytes(p, len);
  glint_result_value(r, &v);
}

/* ---- host calls ---- */

int glint__host_error_v(int code, const char *fmt, va_list ap) {
  int n = glint_vsnprintf(local_err, sizeof local_err, fmt, ap);
  host_err = local_err;
  host_err_len = (uint32_t)((size_t)n < sizeof local_err ? (size_t)n : sizeof local_err - 1);
  glint_utf8_sanitize(local_err, host_err_len);
  return code;
}

int glint_host_call(const char *name, glint_type ret, int nargs, const glint_value *args,
                    glint_value *result) {
  host_err = "";
  host_err_len = 0;
  size_t name_len = name ? strlen(name) : 0;
  if (name_len < 1 || name_len > GLINT_MAX_NAME || !glint_utf8_valid(name, name_len)) {
    return glint__host_error(GLINT_HOST_E_ENCODE, "host call: the name is not 1-255 bytes of UTF-8");
  }
  if (nargs < 0 || nargs > GLINT_MAX_PARAMS || (nargs > 0 && !args)) {
    return glint__host_error(GLINT_HOST_E_ENCODE, "host call %s: %d arguments (0-16 allowed)", name,
                       nargs);
  }
  if ((unsigned)ret > GLINT_BYTES) {
    return glint__host_error(GLINT_HOST_E_ENCODE, "host call %s: return type %d", name, ret);
  }
  for (int i = 0; i < nargs; i++) {
    if (!glint_is_param_type(args[i].type)) {
      return glint__host_error(GLINT_HOST_E_ENCODE, "host call %s: argument %d has type %d", name, i,
                         args[i].type);
    }
    if (args[i].type == GLINT_STRING &&
        !glint_utf8_valid(args[i].as.buf.ptr, args[i].as.buf.len)) {
      return glint__host_error(GLINT_HOST_E_ENCODE, "host call %s: argument %d is not UTF-8", name, i);
    }
  }
  glint_writer w;
  glint_w_init(&w, out_buf, park_result());
  if (!glint_wire_encode_call(&w, GLINT_KIND_HOST_CALL, name, name_len, nargs, args)) {
    return glint__host_error(GLINT_HOST_E_ENCODE, "host call %s does not fit the output buffer", name);
  }
  signal_host(GLINT_PORT_HOST_CALL);

  /* The host result follows the call record, at the next multiple of 8 (ABI 7.4). */
  size_t at = (call_end + 7) & ~(size_t)7;
  glint_outcome o;
  const char *err = NULL;
  if (at >= in_size ||
      !glint_wire_decode_outcome(in_buf + at, in_size - at, GLINT_KIND_HOST_RESULT, &o, &err)) {
    return glint__host_error(GLINT_HOST_E_PROTOCOL, "host call %s: malformed host result: %s", name,
                       err ? err : "no room after the call record");
  }
  if (o.status == 1) {
    host_err = o.message;
    host_err_len = o.message_len;
    /* A host error code is positive by the ABI; 0 would read as success, so map it. */
    return o.code ? o.code : GLINT_HOST_E_PROTOCOL;
  }
  if (o.value.type != ret) {
    return glint__host_error(GLINT_HOST_E_TYPE, "host call %s returned %s, expected %s", name,
                       glint_type_name(o.value.type), glint_type_name(ret));
  }
  if (result) *result = o.value;
  return 0;
}

const char *glint_host_error(uint32_t *len) {
  if (len) *len = host_err_len;
  return host_err ? host_err : "";
}

/* ---- start-up and the dispatch loop ---- */

static void write_table(void) {
  glint_writer w;
  glint_w_init(&w, out_buf, out_size);
  glint_w_begin_record(&w, GLINT_KIND_TABLE);
  glint_w_u16(&w, (uint16_t)nfuncs);
  for (int i = 0; i < nfuncs; i++) {
    glint_w_name(&w, table[i].name, table[i].name_len);
    glint_w_u8(&w, table[i].ret);
    glint_w_u8(&w, table[i].nparams);
    glint_w_raw(&w, table[i].params, table[i].nparams);
  }
  if (!glint_w_end_record(&w)) {
    glint_abort(GLINT_ABORT_USAGE, "the function table does not fit the output buffer");
  }
}

/* Stands in for the function when a call fails before one is found (result_error names it). */
static const fn_entry no_function = {"?", 1, GLINT_VOID, 0, {0}, NULL};

static void run_call(void) {
  glint_result res = {&no_function, false, 0, 0};
  glint_call call;
  const char *err = NULL;
  call_end = 0;
  if (!glint_wire_decode_call(in_buf, in_size, GLINT_KIND_CALL, &call, &err)) {
    result_error(&res, GLINT_ERR_ARGUMENTS, "malformed call record: %s", err);
    return;
  }
  call_end = call.record_size;
  const fn_entry *fn = find(call.name, call.name_len);
  if (!fn) {
    result_error(&res, GLINT_ERR_NOT_FOUND, "no guest function named '%.*s'", call.name_len,
                 call.name);
    return;
  }
  res.fn = fn;
  if (call.argc != fn->nparams) {
    result_error(&res, GLINT_ERR_ARGUMENTS, "%.*s takes %d arguments, the call has %d",
                 fn->name_len, fn->name, fn->nparams, call.argc);
    return;
  }
  glint_args args;
  args.count = call.argc;
  args.fn = fn;
  for (int i = 0; i < call.argc; i++) {
    if (call.args[i].type != fn->params[i]) {
      result_error(&res, GLINT_ERR_ARGUMENTS, "%.*s: argument %d is %s, declared %s",
                   fn->name_len, fn->name, i, glint_type_name(call.args[i].type),
                   glint_type_name((glint_type)fn->params[i]));
      return;
    }
    args.v[i] = call.args[i];
  }
  current = &res;
  fn->fn(&args, &res);
  current = NULL;
  if (!res.set) {
    if (fn->ret == GLINT_VOID) {
      glint_result_void(&res);
    } else {
      result_error(&res, GLINT_ERR_FAILED, "%.*s returned without setting its %s result",
                   fn->name_len, fn->name, glint_type_name((glint_type)fn->ret));
    }
  } else if (res.at != 0) {
    memmove(out_buf, out_buf + res.at, res.len);
  }
}

/* Is [addr, addr + size) a plausible region of guest memory? */
static bool region_ok(const glint_descriptor *d, uint64_t addr, uint64_t size) {
  return addr >= 0x1000 && size > 0 && addr <= d->memory_size && size <= d->memory_size - addr;
}

void glint_main(const glint_descriptor *d) {
  out_buf = NULL; /* zero already in a fresh image; explicit for the native tests' restarts */
  out_size = 0;
  if (d->magic != GLINT_DESCRIPTOR_MAGIC) {
    /* Without a descriptor there is no output buffer to write a message to. */
    for (;;) signal_host(GLINT_PORT_ABORT);
  }
  if (region_ok(d, d->output_addr, d->output_size)) {
    out_buf = (uint8_t *)(uintptr_t)d->output_addr;
    out_size = d->output_size;
  }
  if (d->abi_major != GLINT_ABI_MAJOR) {
    glint_abort(GLINT_ABORT_DESCRIPTOR, "guest built for ABI %d.%d, host offers %u.%u",
                GLINT_ABI_MAJOR, GLINT_ABI_MINOR, d->abi_major, d->abi_minor);
  }
  if (!out_buf || !region_ok(d, d->input_addr, d->input_size) ||
      (d->heap_size && !region_ok(d, d->heap_addr, d->heap_size))) {
    glint_abort(GLINT_ABORT_DESCRIPTOR, "descriptor page: buffers outside guest memory");
  }
  desc = d;
  in_buf = (const uint8_t *)(uintptr_t)d->input_addr;
  in_size = d->input_size;
  glint_heap_init((void *)(uintptr_t)d->heap_addr, d->heap_size);

  initializing = true;
  glint_init();
  initializing = false;
  write_table();
  signal_host(GLINT_PORT_READY);
  for (;;) {
    run_call();
    signal_host(GLINT_PORT_RETURN);
  }
}
