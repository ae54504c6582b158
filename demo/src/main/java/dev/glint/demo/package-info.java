/**
 * The demo server: {@link dev.glint.demo.DemoServer} serves the hello-world routes, each backed by
 * micro-VMs, and reports how it shut down in a {@link dev.glint.demo.ShutdownReport}.
 */
package dev.glint.demo;
