/*
 * varargs.c - the SDK's variadic entry points, the only SDK code built with SSE enabled.
 *
 * A variadic function's prologue saves XMM0-7 into the va_list register save area, so that
 * va_arg can find doubles passed in them; a function built with -mgeneral-regs-only would not,
 * and "%f" would print garbage. gcc guards the saves with `test al, al` (AL = number of vector
 * registers the caller used), so a caller that passes no double, such as any code built with
 * general-purpose registers only, runs no SSE instruction here. Everything else is in the v-forms.
 */
#include "internal.h"

int glint_snprintf(char *buf, size_t size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = glint_vsnprintf(buf, size, fmt, ap);
  va_end(ap);
  return n;
}

/* The KVM test host links the codec and formatter without the runtime these call into. */
#ifndef GLINT_NO_RUNTIME
void glint_log(int level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  glint_vlog(level, fmt, ap);
  va_end(ap);
}

void glint_abort(int32_t code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  glint_vabort(code, fmt, ap);
}

void glint_result_error(glint_result *result, uint16_t code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  glint_result_verror(result, code, fmt, ap);
  va_end(ap);
}

int glint__host_error(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = glint__host_error_v(code, fmt, ap);
  va_end(ap);
  return rc;
}
#endif
