/**
 * The FFM bindings of the WHP backend: the only package that uses {@code Linker}, {@code
 * SymbolLookup}, downcall handles and restricted methods.
 *
 * <p>Classes keep the SDK's names ({@code WHvRunVirtualProcessor}, {@code WHV_RUN_VP_EXIT_CONTEXT},
 * {@code WHvX64RegisterRip}). Layouts and constants are written by hand from Microsoft's public
 * documentation of the Windows Hypervisor Platform (each with its source in docs/whp-backend.md);
 * {@code WhpLayoutTest} compares every one with the header of the ABI double, compiled by gcc.
 * Class initialisation never throws.
 */
package dev.glint.hv.whp.internal.sys;
