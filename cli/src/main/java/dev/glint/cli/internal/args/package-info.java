/**
 * Typed guest arguments as a shell user writes them ({@code i32:5}, {@code str:hello}, {@code
 * bytes:@file}), checked against a guest function's signature, and results printed back.
 */
package dev.glint.cli.internal.args;
