/**
 * Glint's product API: run untrusted functions in hardware-isolated micro-VMs.
 *
 * <p>Most users need {@link dev.glint.sandbox.Sandbox} (built with {@link
 * dev.glint.sandbox.Sandbox#builder()}), {@link dev.glint.sandbox.ValueType} and the {@link
 * dev.glint.sandbox.SandboxException} hierarchy. Callers on many threads share warm sandboxes of
 * one guest through a {@link dev.glint.sandbox.SandboxPool}.
 */
package dev.glint.sandbox;
