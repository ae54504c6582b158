/*
 * hello - the demo guest.
 *
 *   PrintOutput(string) -> i32   passes the string to the host function HostPrint(string) -> i32
 *                                and returns what HostPrint returned. If the host call fails, the
 *                                call fails (status 1, code 3) with the host's error code and
 *                                message in the text.
 */
#include <glint.h>

static void print_output(const glint_args *args, glint_result *result) {
  uint32_t len;
  const char *text = glint_arg_string(args, 0, &len);
  glint_value arg = glint_stringn(text, len);
  glint_value ret;
  int rc = glint_host_call("HostPrint", GLINT_I32, 1, &arg, &ret);
  if (rc != 0) {
    uint32_t mlen;
    const char *msg = glint_host_error(&mlen);
    glint_result_error(result, GLINT_ERR_FAILED, "HostPrint failed (%d): %.*s", rc, (int)mlen, msg);
    return;
  }
  glint_result_i32(result, ret.as.i32);
}

void glint_init(void) {
  static const glint_type params[] = {GLINT_STRING};
  glint_register("PrintOutput", GLINT_I32, 1, params, print_output);
}
