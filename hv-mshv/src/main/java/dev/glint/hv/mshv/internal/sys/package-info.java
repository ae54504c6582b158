/**
 * The FFM bindings of the mshv backend: the only package that uses {@code Linker}, {@code
 * SymbolLookup}, downcall handles, struct layouts and restricted methods.
 *
 * <p>Classes keep the C names: {@link dev.glint.hv.mshv.internal.sys.Mshv} for the {@code
 * /dev/mshv} ioctls of {@code include/uapi/linux/mshv.h} (Linux 6.15), {@link
 * dev.glint.hv.mshv.internal.sys.HvRegisters} and {@link dev.glint.hv.mshv.internal.sys.HvMessage}
 * for the hypervisor structures of {@code include/hyperv/hvgdk_mini.h} and {@code hvhdk.h}, all
 * written by hand from the documentation (docs/mshv-backend.md lists sources) and checked by {@code
 * MshvLayoutTest} against the test double's documented header. Class initialisation never throws;
 * see {@link dev.glint.hv.mshv.internal.sys.Libc#unavailableReason()}.
 */
package dev.glint.hv.mshv.internal.sys;
