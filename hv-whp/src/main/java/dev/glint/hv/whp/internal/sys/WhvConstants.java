package dev.glint.hv.whp.internal.sys;

/**
 * The constants of the Windows Hypervisor Platform that the backend uses, with their SDK names
 * ({@code WinHvPlatformDefs.h}). Sources, all Microsoft's public documentation under
 * learn.microsoft.com/virtualization/api/hypervisor-platform: {@code WHvGetCapability} (capability
 * codes, {@code WHV_CAPABILITY_FEATURES}, {@code WHV_PROCESSOR_VENDOR}), {@code
 * WHvSetPartitionProperty} (property codes), {@code WHvMapGpaRange} (map flags), {@code
 * WHvTranslateGva}, {@code WHvRunVirtualProcessor} and its exit-context pages (exit reasons, {@code
 * WHV_X64_VP_EXECUTION_STATE}, {@code WHV_MEMORY_ACCESS_INFO}, {@code
 * WHV_X64_IO_PORT_ACCESS_INFO}), {@code WHvGetVirtualProcessorRegisters} ({@code
 * WHV_REGISTER_NAME}). Each is listed with its source in docs/whp-backend.md and checked against
 * the double's header by {@code WhpLayoutTest}.
 */
public final class WhvConstants {
  private WhvConstants() {}

  // WHV_CAPABILITY_CODE
  public static final int WHvCapabilityCodeHypervisorPresent = 0x00000000;
  public static final int WHvCapabilityCodeFeatures = 0x00000001;
  public static final int WHvCapabilityCodeExtendedVmExits = 0x00000002;
  public static final int WHvCapabilityCodeProcessorVendor = 0x00001000;
  public static final int WHvCapabilityCodeProcessorFeatures = 0x00001001;

  // WHV_CAPABILITY_FEATURES bits
  public static final long WHV_CAPABILITY_FEATURES_PARTIAL_UNMAP = 1L << 0;
  public static final long WHV_CAPABILITY_FEATURES_XSAVE = 1L << 2;
  public static final long WHV_CAPABILITY_FEATURES_DIRTY_PAGE_TRACKING = 1L << 3;

  // WHV_PROCESSOR_VENDOR
  public static final int WHvProcessorVendorAmd = 0x0000;
  public static final int WHvProcessorVendorIntel = 0x0001;
  public static final int WHvProcessorVendorHygon = 0x0002;

  // WHV_PROCESSOR_FEATURES bits (a few, for the description)
  public static final long WHV_PROCESSOR_FEATURES_SSE3 = 1L << 0;
  public static final long WHV_PROCESSOR_FEATURES_SSE4_2 = 1L << 4;
  public static final long WHV_PROCESSOR_FEATURES_POPCNT = 1L << 7;
  public static final long WHV_PROCESSOR_FEATURES_AES = 1L << 16;

  // WHV_PARTITION_PROPERTY_CODE
  public static final int WHvPartitionPropertyCodeExtendedVmExits = 0x00000001;
  public static final int WHvPartitionPropertyCodeProcessorCount = 0x00001fff;

  // WHV_MAP_GPA_RANGE_FLAGS
  public static final int WHvMapGpaRangeFlagNone = 0x00000000;
  public static final int WHvMapGpaRangeFlagRead = 0x00000001;
  public static final int WHvMapGpaRangeFlagWrite = 0x00000002;
  public static final int WHvMapGpaRangeFlagExecute = 0x00000004;
  public static final int WHvMapGpaRangeFlagTrackDirtyPages = 0x00000008;

  // WHV_TRANSLATE_GVA_FLAGS and WHV_TRANSLATE_GVA_RESULT_CODE
  public static final int WHvTranslateGvaFlagNone = 0x00000000;
  public static final int WHvTranslateGvaFlagValidateRead = 0x00000001;
  public static final int WHvTranslateGvaFlagValidateWrite = 0x00000002;
  public static final int WHvTranslateGvaFlagPrivilegeExempt = 0x00000008;
  public static final int WHvTranslateGvaResultSuccess = 0;
  public static final int WHvTranslateGvaResultPageNotPresent = 1;
  public static final int WHvTranslateGvaResultPrivilegeViolation = 2;
  public static final int WHvTranslateGvaResultInvalidPageTableFlags = 3;
  public static final int WHvTranslateGvaResultGpaUnmapped = 4;

  // WHV_RUN_VP_EXIT_REASON (x64)
  public static final int WHvRunVpExitReasonNone = 0x00000000;
  public static final int WHvRunVpExitReasonMemoryAccess = 0x00000001;
  public static final int WHvRunVpExitReasonX64IoPortAccess = 0x00000002;
  public static final int WHvRunVpExitReasonUnrecoverableException = 0x00000004;
  public static final int WHvRunVpExitReasonInvalidVpRegisterValue = 0x00000005;
  public static final int WHvRunVpExitReasonUnsupportedFeature = 0x00000006;
  public static final int WHvRunVpExitReasonX64InterruptWindow = 0x00000007;
  public static final int WHvRunVpExitReasonX64Halt = 0x00000008;
  public static final int WHvRunVpExitReasonX64ApicEoi = 0x00000009;
  public static final int WHvRunVpExitReasonX64MsrAccess = 0x00001000;
  public static final int WHvRunVpExitReasonX64Cpuid = 0x00001001;
  public static final int WHvRunVpExitReasonException = 0x00001002;
  public static final int WHvRunVpExitReasonX64Rdtsc = 0x00001003;
  public static final int WHvRunVpExitReasonCanceled = 0x00002001;

  // WHV_RUN_VP_CANCEL_REASON
  public static final int WHvRunVpCancelReasonUser = 0;

  // WHV_X64_UNSUPPORTED_FEATURE_CODE
  public static final int WHvUnsupportedFeatureIntercept = 1;
  public static final int WHvUnsupportedFeatureTaskSwitchTss = 2;

  // WHV_X64_VP_EXECUTION_STATE bits (UINT16)
  public static final int WHV_X64_VP_EXECUTION_STATE_CPL_MASK = 0x0003;
  public static final int WHV_X64_VP_EXECUTION_STATE_CR0_PE = 1 << 2;
  public static final int WHV_X64_VP_EXECUTION_STATE_CR0_AM = 1 << 3;
  public static final int WHV_X64_VP_EXECUTION_STATE_EFER_LMA = 1 << 4;
  public static final int WHV_X64_VP_EXECUTION_STATE_INTERRUPT_SHADOW = 1 << 12;

  // WHV_MEMORY_ACCESS_TYPE and WHV_MEMORY_ACCESS_INFO bits
  public static final int WHvMemoryAccessRead = 0;
  public static final int WHvMemoryAccessWrite = 1;
  public static final int WHvMemoryAccessExecute = 2;
  public static final int WHV_MEMORY_ACCESS_INFO_TYPE_MASK = 0x3;
  public static final int WHV_MEMORY_ACCESS_INFO_GPA_UNMAPPED = 1 << 2;
  public static final int WHV_MEMORY_ACCESS_INFO_GVA_VALID = 1 << 3;

  // WHV_X64_IO_PORT_ACCESS_INFO bits
  public static final int WHV_X64_IO_PORT_ACCESS_INFO_IS_WRITE = 1 << 0;
  public static final int WHV_X64_IO_PORT_ACCESS_INFO_SIZE_SHIFT = 1;
  public static final int WHV_X64_IO_PORT_ACCESS_INFO_SIZE_MASK = 0x7 << 1;
  public static final int WHV_X64_IO_PORT_ACCESS_INFO_STRING_OP = 1 << 4;
  public static final int WHV_X64_IO_PORT_ACCESS_INFO_REP_PREFIX = 1 << 5;

  // WHV_REGISTER_NAME (x64)
  public static final int WHvX64RegisterRax = 0x00000000;
  public static final int WHvX64RegisterRcx = 0x00000001;
  public static final int WHvX64RegisterRdx = 0x00000002;
  public static final int WHvX64RegisterRbx = 0x00000003;
  public static final int WHvX64RegisterRsp = 0x00000004;
  public static final int WHvX64RegisterRbp = 0x00000005;
  public static final int WHvX64RegisterRsi = 0x00000006;
  public static final int WHvX64RegisterRdi = 0x00000007;
  public static final int WHvX64RegisterR8 = 0x00000008;
  public static final int WHvX64RegisterR9 = 0x00000009;
  public static final int WHvX64RegisterR10 = 0x0000000A;
  public static final int WHvX64RegisterR11 = 0x0000000B;
  public static final int WHvX64RegisterR12 = 0x0000000C;
  public static final int WHvX64RegisterR13 = 0x0000000D;
  public static final int WHvX64RegisterR14 = 0x0000000E;
  public static final int WHvX64RegisterR15 = 0x0000000F;
  public static final int WHvX64RegisterRip = 0x00000010;
  public static final int WHvX64RegisterRflags = 0x00000011;
  public static final int WHvX64RegisterEs = 0x00000012;
  public static final int WHvX64RegisterCs = 0x00000013;
  public static final int WHvX64RegisterSs = 0x00000014;
  public static final int WHvX64RegisterDs = 0x00000015;
  public static final int WHvX64RegisterFs = 0x00000016;
  public static final int WHvX64RegisterGs = 0x00000017;
  public static final int WHvX64RegisterLdtr = 0x00000018;
  public static final int WHvX64RegisterTr = 0x00000019;
  public static final int WHvX64RegisterIdtr = 0x0000001A;
  public static final int WHvX64RegisterGdtr = 0x0000001B;
  public static final int WHvX64RegisterCr0 = 0x0000001C;
  public static final int WHvX64RegisterCr2 = 0x0000001D;
  public static final int WHvX64RegisterCr3 = 0x0000001E;
  public static final int WHvX64RegisterCr4 = 0x0000001F;
  public static final int WHvX64RegisterCr8 = 0x00000020;
  public static final int WHvX64RegisterXmm0 = 0x00001000;
  public static final int WHvX64RegisterXmm15 = 0x0000100F;
  public static final int WHvX64RegisterFpMmx0 = 0x00001010;
  public static final int WHvX64RegisterFpMmx7 = 0x00001017;
  public static final int WHvX64RegisterFpControlStatus = 0x00001018;
  public static final int WHvX64RegisterXmmControlStatus = 0x00001019;
  public static final int WHvX64RegisterEfer = 0x00002001;
  public static final int WHvX64RegisterApicBase = 0x00002003;

  /**
   * The general registers in x86 encoding order (RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8..R15):
   * the WHP names 0..15 are exactly that order.
   */
  public static int gprName(int encoding) {
    if (encoding < 0 || encoding > 15) {
      throw new IllegalArgumentException("general register encoding " + encoding);
    }
    return WHvX64RegisterRax + encoding;
  }
}
