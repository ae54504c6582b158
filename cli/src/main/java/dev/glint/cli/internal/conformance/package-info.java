/**
 * The conformance suite run from the command line: {@link
 * dev.glint.cli.internal.conformance.CliConformanceTest} is the suite's concrete subclass, and
 * {@link dev.glint.cli.internal.conformance.ConformanceRun} runs it through the JUnit Platform
 * launcher and collects each test's outcome.
 */
package dev.glint.cli.internal.conformance;
