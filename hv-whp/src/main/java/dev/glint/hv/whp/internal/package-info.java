/**
 * The Windows Hypervisor Platform backend's implementation of the hypervisor SPI: {@link
 * dev.glint.hv.whp.internal.WhpHypervisorProvider} is the entry point, found through {@link
 * java.util.ServiceLoader}. Nothing here is exported.
 *
 * <p>Native calls live only in {@link dev.glint.hv.whp.internal.sys}; this package sees methods
 * that return an {@code HRESULT} and turns failures into {@link dev.glint.hv.HypervisorException}s
 * named after the WHv function and the {@code HRESULT}. See {@code docs/whp-backend.md}.
 */
package dev.glint.hv.whp.internal;
