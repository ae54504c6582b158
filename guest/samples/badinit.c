/*
 * badinit - a test guest that never becomes ready: it registers the same name twice, which the
 * SDK refuses by aborting during initialization (before READY) with code -2 (GLINT_ABORT_USAGE)
 * and the message "glint_register(Twice): name registered twice". A host must report this as a
 * failed sandbox creation carrying that code and message.
 */
#include <glint.h>

static void nothing(const glint_args *a, glint_result *r) {}

void glint_init(void) {
  glint_log(GLINT_LOG_INFO, "registering Twice twice");
  glint_register("Twice", GLINT_VOID, 0, NULL, nothing);
  glint_register("Twice", GLINT_VOID, 0, NULL, nothing);
}
