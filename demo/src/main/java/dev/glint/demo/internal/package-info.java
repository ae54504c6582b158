/**
 * The demo server's parts, not exported: the sandboxes behind the routes ({@link
 * dev.glint.demo.internal.SandboxFleet}), the HTTP side ({@link
 * dev.glint.demo.internal.DemoHttpServer}, {@link dev.glint.demo.internal.Routes}) and the
 * Prometheus metrics ({@link dev.glint.demo.internal.Metrics}).
 */
package dev.glint.demo.internal;
