package dev.glint.hv.whp.internal;

import dev.glint.hv.HypervisorException;
import dev.glint.hv.whp.internal.sys.HResult;

/** Builds the backend's {@link HypervisorException}s from failed WHv calls. */
final class WhpErrors {
  static final String BACKEND = "whp";

  private WhpErrors() {}

  /**
   * {@return the exception for a failed call}
   *
   * @param operation the WHv function, such as {@code WHvMapGpaRange}
   * @param hresult what it returned
   * @param detail what was being done, with the values involved
   */
  static HypervisorException failure(String operation, int hresult, String detail) {
    return new HypervisorException(
        BACKEND, operation, Integer.toUnsignedLong(hresult), HResult.name(hresult), detail, null);
  }

  /** Throws {@link #failure} unless {@code hresult} reports success. */
  static void check(int hresult, String operation, String detail) {
    if (!HResult.succeeded(hresult)) {
      throw failure(operation, hresult, detail);
    }
  }

  /** {@return the exception for a failure that no WHv call reported} */
  static HypervisorException fault(String operation, String detail) {
    return new HypervisorException(
        BACKEND, operation, HypervisorException.NO_ERROR_CODE, "", detail, null);
  }

  /**
   * Logs a failed release ({@code WHvDeletePartition}, freeing memory) instead of throwing: a close
   * path must finish releasing everything else.
   */
  static void released(int hresult, String call, String what) {
    if (!HResult.succeeded(hresult)) {
      System.getLogger("dev.glint.hv.whp")
          .log(
              System.Logger.Level.WARNING,
              "whp: %s failed (%s) while releasing %s"
                  .formatted(call, HResult.name(hresult), what));
    }
  }
}
