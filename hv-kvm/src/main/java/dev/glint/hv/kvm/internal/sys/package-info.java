/**
 * The FFM bindings of the KVM backend: the only package that uses {@code Linker}, {@code
 * SymbolLookup}, {@code FunctionDescriptor}, downcall handles and restricted methods such as {@code
 * MemorySegment.reinterpret}.
 *
 * <p>Classes keep the C names: one final class per struct family with its hand-written layout (from
 * {@code /usr/include/linux/kvm.h}, linux-libc-dev 6.1, and glibc 2.36 headers), its {@code
 * VarHandle}s and the ioctl numbers computed from the layout's size. {@code KvmLayoutTest} compares
 * all of them with what gcc says. Class initialisation never throws; see {@link
 * dev.glint.hv.kvm.internal.sys.Libc#unavailableReason()}.
 */
package dev.glint.hv.kvm.internal.sys;
