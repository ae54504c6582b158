/*
 * The subset of the Windows Hypervisor Platform ABI (WinHvPlatformDefs.h / WinHvPlatform.h) that
 * Glint's WHP backend uses and the test double (whp_double.c) serves, written for this project
 * from Microsoft's public documentation:
 *
 *   [API]   https://learn.microsoft.com/virtualization/api/hypervisor-platform/hypervisor-platform
 *           (the function pages: WHvGetCapability, WHvCreatePartition, WHvSetupPartition,
 *           WHvSetPartitionProperty, WHvMapGpaRange, WHvUnmapGpaRange, WHvQueryGpaRangeDirtyBitmap,
 *           WHvCreateVirtualProcessor, WHvDeleteVirtualProcessor, WHvRunVirtualProcessor,
 *           WHvCancelRunVirtualProcessor, WHvGetVirtualProcessorRegisters,
 *           WHvSetVirtualProcessorRegisters, WHvTranslateGva, WHvDeletePartition)
 *   [EXIT]  .../hypervisor-platform/funcs/whvrunvirtualprocessor (WHV_RUN_VP_EXIT_CONTEXT and the
 *           exit context pages: MemoryAccess, IoPortAccess, UnrecoverableException,
 *           UnsupportedFeature, ExecutionCancelled)
 *   [REGS]  .../hypervisor-platform/funcs/whvvirtualprocessorregisters (WHV_REGISTER_NAME,
 *           WHV_REGISTER_VALUE and the x64 register structures)
 *   [CAPS]  .../hypervisor-platform/funcs/whvgetcapability, .../whvpartitionproperties
 *   [ERR]   winerror.h as documented in [MS-ERREF] and the Windows SDK: FACILITY_VIRTUALIZATION
 *           (0x37) codes WHV_E_*, and the common E_* codes.
 *
 * The sizes the documentation states (C_ASSERTs in the SDK header) are asserted below. On Linux
 * x86-64 the functions use the SysV calling convention instead of the Windows x64 one; the data
 * layouts are the same (natural alignment, little-endian, HRESULT and BOOL 32-bit).
 */
#ifndef GLINT_WHP_ABI_H
#define GLINT_WHP_ABI_H

#include <stdint.h>

typedef int32_t HRESULT; /* LONG on Windows: 32 bits */
typedef int32_t BOOL;
typedef uint8_t UINT8;
typedef uint16_t UINT16;
typedef uint32_t UINT32;
typedef uint64_t UINT64;
typedef void *WHV_PARTITION_HANDLE;
typedef UINT64 WHV_GUEST_PHYSICAL_ADDRESS;
typedef UINT64 WHV_GUEST_VIRTUAL_ADDRESS;

/* [ERR] */
#define S_OK ((HRESULT) 0x00000000)
#define E_NOTIMPL ((HRESULT) 0x80004001)
#define E_POINTER ((HRESULT) 0x80004003)
#define E_FAIL ((HRESULT) 0x80004005)
#define E_UNEXPECTED ((HRESULT) 0x8000FFFF)
#define E_ACCESSDENIED ((HRESULT) 0x80070005)
#define E_HANDLE ((HRESULT) 0x80070006)
#define E_OUTOFMEMORY ((HRESULT) 0x8007000E)
#define E_INVALIDARG ((HRESULT) 0x80070057)
#define WHV_E_UNKNOWN_CAPABILITY ((HRESULT) 0x80370300)
#define WHV_E_INSUFFICIENT_BUFFER ((HRESULT) 0x80370301)
#define WHV_E_UNKNOWN_PROPERTY ((HRESULT) 0x80370302)
#define WHV_E_UNSUPPORTED_HYPERVISOR_CONFIG ((HRESULT) 0x80370303)
#define WHV_E_INVALID_PARTITION_CONFIG ((HRESULT) 0x80370304)
#define WHV_E_GPA_RANGE_NOT_FOUND ((HRESULT) 0x80370305)
#define WHV_E_VP_ALREADY_EXISTS ((HRESULT) 0x80370306)
#define WHV_E_VP_DOES_NOT_EXIST ((HRESULT) 0x80370307)
#define WHV_E_INVALID_VP_STATE ((HRESULT) 0x80370308)
#define WHV_E_INVALID_VP_REGISTER_NAME ((HRESULT) 0x80370309)
#define WHV_E_UNSUPPORTED_PROCESSOR_CONFIG ((HRESULT) 0x80370310)

/* [CAPS] WHV_CAPABILITY_CODE */
#define WHvCapabilityCodeHypervisorPresent 0x00000000
#define WHvCapabilityCodeFeatures 0x00000001
#define WHvCapabilityCodeExtendedVmExits 0x00000002
#define WHvCapabilityCodeProcessorVendor 0x00001000
#define WHvCapabilityCodeProcessorFeatures 0x00001001

/* [CAPS] WHV_CAPABILITY_FEATURES (UINT64 bit field) */
typedef union WHV_CAPABILITY_FEATURES {
  struct {
    UINT64 PartialUnmap : 1;
    UINT64 LocalApicEmulation : 1;
    UINT64 Xsave : 1;
    UINT64 DirtyPageTracking : 1;
    UINT64 SpeculationControl : 1;
    UINT64 ApicRemoteRead : 1;
    UINT64 IdleSuspend : 1;
    UINT64 Reserved : 57;
  };
  UINT64 AsUINT64;
} WHV_CAPABILITY_FEATURES;
#define WHV_CAPABILITY_FEATURES_PARTIAL_UNMAP (1ULL << 0)
#define WHV_CAPABILITY_FEATURES_XSAVE (1ULL << 2)
#define WHV_CAPABILITY_FEATURES_DIRTY_PAGE_TRACKING (1ULL << 3)

/* [CAPS] WHV_PROCESSOR_VENDOR */
#define WHvProcessorVendorAmd 0x0000
#define WHvProcessorVendorIntel 0x0001
#define WHvProcessorVendorHygon 0x0002

/* [CAPS] WHV_PROCESSOR_FEATURES, first bits (UINT64 bit field) */
#define WHV_PROCESSOR_FEATURES_SSE3 (1ULL << 0)
#define WHV_PROCESSOR_FEATURES_LAHF_SAHF (1ULL << 1)
#define WHV_PROCESSOR_FEATURES_SSSE3 (1ULL << 2)
#define WHV_PROCESSOR_FEATURES_SSE4_1 (1ULL << 3)
#define WHV_PROCESSOR_FEATURES_SSE4_2 (1ULL << 4)
#define WHV_PROCESSOR_FEATURES_POPCNT (1ULL << 7)
#define WHV_PROCESSOR_FEATURES_CMPXCHG16B (1ULL << 8)
#define WHV_PROCESSOR_FEATURES_LZCNT (1ULL << 10)
#define WHV_PROCESSOR_FEATURES_PAGE_1GB (1ULL << 15)
#define WHV_PROCESSOR_FEATURES_AES (1ULL << 16)
#define WHV_PROCESSOR_FEATURES_PCLMULQDQ (1ULL << 17)
#define WHV_PROCESSOR_FEATURES_RDRAND (1ULL << 21)

/* [CAPS] WHV_PARTITION_PROPERTY_CODE */
#define WHvPartitionPropertyCodeExtendedVmExits 0x00000001
#define WHvPartitionPropertyCodeProcessorCount 0x00001fff

/* [API] WHV_MAP_GPA_RANGE_FLAGS */
#define WHvMapGpaRangeFlagNone 0x00000000
#define WHvMapGpaRangeFlagRead 0x00000001
#define WHvMapGpaRangeFlagWrite 0x00000002
#define WHvMapGpaRangeFlagExecute 0x00000004
#define WHvMapGpaRangeFlagTrackDirtyPages 0x00000008

/* [API] WHvTranslateGva */
#define WHvTranslateGvaFlagNone 0x00000000
#define WHvTranslateGvaFlagValidateRead 0x00000001
#define WHvTranslateGvaFlagValidateWrite 0x00000002
#define WHvTranslateGvaFlagValidateExecute 0x00000004
#define WHvTranslateGvaFlagPrivilegeExempt 0x00000008
#define WHvTranslateGvaResultSuccess 0
#define WHvTranslateGvaResultPageNotPresent 1
#define WHvTranslateGvaResultPrivilegeViolation 2
#define WHvTranslateGvaResultInvalidPageTableFlags 3
#define WHvTranslateGvaResultGpaUnmapped 4
typedef struct WHV_TRANSLATE_GVA_RESULT {
  UINT32 ResultCode;
  UINT32 Reserved;
} WHV_TRANSLATE_GVA_RESULT;

/* [REGS] WHV_REGISTER_NAME (x64) */
#define WHvX64RegisterRax 0x00000000
#define WHvX64RegisterRcx 0x00000001
#define WHvX64RegisterRdx 0x00000002
#define WHvX64RegisterRbx 0x00000003
#define WHvX64RegisterRsp 0x00000004
#define WHvX64RegisterRbp 0x00000005
#define WHvX64RegisterRsi 0x00000006
#define WHvX64RegisterRdi 0x00000007
#define WHvX64RegisterR8 0x00000008
#define WHvX64RegisterR9 0x00000009
#define WHvX64RegisterR10 0x0000000A
#define WHvX64RegisterR11 0x0000000B
#define WHvX64RegisterR12 0x0000000C
#define WHvX64RegisterR13 0x0000000D
#define WHvX64RegisterR14 0x0000000E
#define WHvX64RegisterR15 0x0000000F
#define WHvX64RegisterRip 0x00000010
#define WHvX64RegisterRflags 0x00000011
#define WHvX64RegisterEs 0x00000012
#define WHvX64RegisterCs 0x00000013
#define WHvX64RegisterSs 0x00000014
#define WHvX64RegisterDs 0x00000015
#define WHvX64RegisterFs 0x00000016
#define WHvX64RegisterGs 0x00000017
#define WHvX64RegisterLdtr 0x00000018
#define WHvX64RegisterTr 0x00000019
#define WHvX64RegisterIdtr 0x0000001A
#define WHvX64RegisterGdtr 0x0000001B
#define WHvX64RegisterCr0 0x0000001C
#define WHvX64RegisterCr2 0x0000001D
#define WHvX64RegisterCr3 0x0000001E
#define WHvX64RegisterCr4 0x0000001F
#define WHvX64RegisterCr8 0x00000020
#define WHvX64RegisterXmm0 0x00001000
#define WHvX64RegisterXmm15 0x0000100F
#define WHvX64RegisterFpMmx0 0x00001010
#define WHvX64RegisterFpMmx7 0x00001017
#define WHvX64RegisterFpControlStatus 0x00001018
#define WHvX64RegisterXmmControlStatus 0x00001019
#define WHvX64RegisterEfer 0x00002001
#define WHvX64RegisterApicBase 0x00002003

/* [REGS] WHV_UINT128: 16 bytes, 16-aligned */
typedef union __attribute__((aligned(16))) WHV_UINT128 {
  struct {
    UINT64 Low64;
    UINT64 High64;
  };
  UINT32 Dword[4];
} WHV_UINT128;

/* [REGS] WHV_X64_FP_REGISTER: an 80-bit x87 value in 16 bytes */
typedef union WHV_X64_FP_REGISTER {
  struct {
    UINT64 Mantissa;
    UINT64 BiasedExponent : 15;
    UINT64 Sign : 1;
    UINT64 Reserved : 48;
  };
  WHV_UINT128 AsUINT128;
} WHV_X64_FP_REGISTER;

/* [REGS] WHV_X64_FP_CONTROL_STATUS_REGISTER */
typedef union WHV_X64_FP_CONTROL_STATUS_REGISTER {
  struct {
    UINT16 FpControl;
    UINT16 FpStatus;
    UINT8 FpTag;
    UINT8 Reserved;
    UINT16 LastFpOp;
    UINT64 LastFpRip;
  };
  WHV_UINT128 AsUINT128;
} WHV_X64_FP_CONTROL_STATUS_REGISTER;

/* [REGS] WHV_X64_XMM_CONTROL_STATUS_REGISTER */
typedef union WHV_X64_XMM_CONTROL_STATUS_REGISTER {
  struct {
    UINT64 LastFpRdp;
    UINT32 XmmStatusControl;
    UINT32 XmmStatusControlMask;
  };
  WHV_UINT128 AsUINT128;
} WHV_X64_XMM_CONTROL_STATUS_REGISTER;

/* [REGS] WHV_X64_SEGMENT_REGISTER; Attributes bits: SegmentType 0-3, NonSystemSegment 4,
 * DescriptorPrivilegeLevel 5-6, Present 7, Reserved 8-11, Available 12, Long 13, Default 14,
 * Granularity 15. */
typedef struct WHV_X64_SEGMENT_REGISTER {
  UINT64 Base;
  UINT32 Limit;
  UINT16 Selector;
  UINT16 Attributes;
} WHV_X64_SEGMENT_REGISTER;
#define WHV_X64_SEGMENT_TYPE_MASK 0x000F
#define WHV_X64_SEGMENT_NON_SYSTEM (1 << 4)
#define WHV_X64_SEGMENT_DPL_SHIFT 5
#define WHV_X64_SEGMENT_PRESENT (1 << 7)
#define WHV_X64_SEGMENT_AVAILABLE (1 << 12)
#define WHV_X64_SEGMENT_LONG (1 << 13)
#define WHV_X64_SEGMENT_DEFAULT (1 << 14)
#define WHV_X64_SEGMENT_GRANULARITY (1 << 15)

/* [REGS] WHV_X64_TABLE_REGISTER */
typedef struct WHV_X64_TABLE_REGISTER {
  UINT16 Pad[3];
  UINT16 Limit;
  UINT64 Base;
} WHV_X64_TABLE_REGISTER;

/* [REGS] WHV_REGISTER_VALUE: 16 bytes, 16-aligned */
typedef union WHV_REGISTER_VALUE {
  WHV_UINT128 Reg128;
  UINT64 Reg64;
  UINT32 Reg32;
  UINT16 Reg16;
  UINT8 Reg8;
  WHV_X64_FP_REGISTER Fp;
  WHV_X64_FP_CONTROL_STATUS_REGISTER FpControlStatus;
  WHV_X64_XMM_CONTROL_STATUS_REGISTER XmmControlStatus;
  WHV_X64_SEGMENT_REGISTER Segment;
  WHV_X64_TABLE_REGISTER Table;
} WHV_REGISTER_VALUE;

/* [EXIT] WHV_RUN_VP_EXIT_REASON (x64) */
#define WHvRunVpExitReasonNone 0x00000000
#define WHvRunVpExitReasonMemoryAccess 0x00000001
#define WHvRunVpExitReasonX64IoPortAccess 0x00000002
#define WHvRunVpExitReasonUnrecoverableException 0x00000004
#define WHvRunVpExitReasonInvalidVpRegisterValue 0x00000005
#define WHvRunVpExitReasonUnsupportedFeature 0x00000006
#define WHvRunVpExitReasonX64InterruptWindow 0x00000007
#define WHvRunVpExitReasonX64Halt 0x00000008
#define WHvRunVpExitReasonX64ApicEoi 0x00000009
#define WHvRunVpExitReasonX64MsrAccess 0x00001000
#define WHvRunVpExitReasonX64Cpuid 0x00001001
#define WHvRunVpExitReasonException 0x00001002
#define WHvRunVpExitReasonX64Rdtsc 0x00001003
#define WHvRunVpExitReasonCanceled 0x00002001

/* [EXIT] WHV_X64_VP_EXECUTION_STATE (UINT16): Cpl 0-1, Cr0Pe 2, Cr0Am 3, EferLma 4,
 * DebugActive 5, InterruptionPending 6, InterruptShadow 12 */
#define WHV_X64_VP_EXECUTION_STATE_CPL_MASK 0x0003
#define WHV_X64_VP_EXECUTION_STATE_CR0_PE (1 << 2)
#define WHV_X64_VP_EXECUTION_STATE_CR0_AM (1 << 3)
#define WHV_X64_VP_EXECUTION_STATE_EFER_LMA (1 << 4)
#define WHV_X64_VP_EXECUTION_STATE_INTERRUPT_SHADOW (1 << 12)

/* [EXIT] WHV_VP_EXIT_CONTEXT; the byte at offset 2 holds InstructionLength (bits 0-3) and Cr8
 * (bits 4-7) */
typedef struct WHV_VP_EXIT_CONTEXT {
  UINT16 ExecutionState;
  UINT8 InstructionLengthCr8;
  UINT8 Reserved;
  UINT32 Reserved2;
  WHV_X64_SEGMENT_REGISTER Cs;
  UINT64 Rip;
  UINT64 Rflags;
} WHV_VP_EXIT_CONTEXT;

/* [EXIT] WHV_MEMORY_ACCESS_CONTEXT; AccessInfo: AccessType bits 0-1 (WHV_MEMORY_ACCESS_TYPE),
 * GpaUnmapped bit 2, GvaValid bit 3 */
#define WHvMemoryAccessRead 0
#define WHvMemoryAccessWrite 1
#define WHvMemoryAccessExecute 2
#define WHV_MEMORY_ACCESS_INFO_TYPE_MASK 0x3
#define WHV_MEMORY_ACCESS_INFO_GPA_UNMAPPED (1 << 2)
#define WHV_MEMORY_ACCESS_INFO_GVA_VALID (1 << 3)
typedef struct WHV_MEMORY_ACCESS_CONTEXT {
  UINT8 InstructionByteCount;
  UINT8 Reserved[3];
  UINT8 InstructionBytes[16];
  UINT32 AccessInfo;
  WHV_GUEST_PHYSICAL_ADDRESS Gpa;
  WHV_GUEST_VIRTUAL_ADDRESS Gva;
} WHV_MEMORY_ACCESS_CONTEXT;

/* [EXIT] WHV_X64_IO_PORT_ACCESS_CONTEXT; AccessInfo: IsWrite bit 0, AccessSize bits 1-3,
 * StringOp bit 4, RepPrefix bit 5 */
#define WHV_X64_IO_PORT_ACCESS_INFO_IS_WRITE (1 << 0)
#define WHV_X64_IO_PORT_ACCESS_INFO_SIZE_SHIFT 1
#define WHV_X64_IO_PORT_ACCESS_INFO_SIZE_MASK (0x7 << 1)
#define WHV_X64_IO_PORT_ACCESS_INFO_STRING_OP (1 << 4)
#define WHV_X64_IO_PORT_ACCESS_INFO_REP_PREFIX (1 << 5)
typedef struct WHV_X64_IO_PORT_ACCESS_CONTEXT {
  UINT8 InstructionByteCount;
  UINT8 Reserved[3];
  UINT8 InstructionBytes[16];
  UINT32 AccessInfo;
  UINT16 PortNumber;
  UINT16 Reserved2[3];
  UINT64 Rax;
  UINT64 Rcx;
  UINT64 Rsi;
  UINT64 Rdi;
  WHV_X64_SEGMENT_REGISTER Ds;
  WHV_X64_SEGMENT_REGISTER Es;
} WHV_X64_IO_PORT_ACCESS_CONTEXT;

/* [EXIT] WHV_UNRECOVERABLE_EXCEPTION: no context data beyond VpContext.
 * [EXIT] WHV_X64_UNSUPPORTED_FEATURE_CONTEXT */
#define WHvUnsupportedFeatureIntercept 1
#define WHvUnsupportedFeatureTaskSwitchTss 2
typedef struct WHV_X64_UNSUPPORTED_FEATURE_CONTEXT {
  UINT32 FeatureCode;
  UINT32 Reserved;
  UINT64 FeatureParameter;
} WHV_X64_UNSUPPORTED_FEATURE_CONTEXT;

/* [EXIT] WHV_RUN_VP_CANCELED_CONTEXT */
#define WHvRunVpCancelReasonUser 0
typedef struct WHV_RUN_VP_CANCELED_CONTEXT {
  UINT32 CancelReason;
} WHV_RUN_VP_CANCELED_CONTEXT;

/* [EXIT] WHV_RUN_VP_EXIT_CONTEXT: 224 bytes; the union holds the larger contexts this subset
 * leaves out (CPUID, MSR, exception, interrupt window, ...), sized by its 176 bytes. */
typedef struct WHV_RUN_VP_EXIT_CONTEXT {
  UINT32 ExitReason;
  UINT32 Reserved;
  WHV_VP_EXIT_CONTEXT VpContext;
  union {
    WHV_MEMORY_ACCESS_CONTEXT MemoryAccess;
    WHV_X64_IO_PORT_ACCESS_CONTEXT IoPortAccess;
    WHV_X64_UNSUPPORTED_FEATURE_CONTEXT UnsupportedFeature;
    WHV_RUN_VP_CANCELED_CONTEXT CancelReason;
    UINT64 AsUINT64[22];
  };
} WHV_RUN_VP_EXIT_CONTEXT;

_Static_assert(sizeof(WHV_UINT128) == 16, "WHV_UINT128");
_Static_assert(sizeof(WHV_X64_FP_REGISTER) == 16, "WHV_X64_FP_REGISTER");
_Static_assert(sizeof(WHV_X64_FP_CONTROL_STATUS_REGISTER) == 16, "FP control/status");
_Static_assert(sizeof(WHV_X64_XMM_CONTROL_STATUS_REGISTER) == 16, "XMM control/status");
_Static_assert(sizeof(WHV_X64_SEGMENT_REGISTER) == 16, "WHV_X64_SEGMENT_REGISTER");
_Static_assert(sizeof(WHV_X64_TABLE_REGISTER) == 16, "WHV_X64_TABLE_REGISTER");
_Static_assert(sizeof(WHV_REGISTER_VALUE) == 16, "WHV_REGISTER_VALUE");
_Static_assert(_Alignof(WHV_REGISTER_VALUE) == 16, "WHV_REGISTER_VALUE alignment");
_Static_assert(sizeof(WHV_CAPABILITY_FEATURES) == 8, "WHV_CAPABILITY_FEATURES");
_Static_assert(sizeof(WHV_VP_EXIT_CONTEXT) == 40, "WHV_VP_EXIT_CONTEXT");
_Static_assert(sizeof(WHV_MEMORY_ACCESS_CONTEXT) == 40, "WHV_MEMORY_ACCESS_CONTEXT");
_Static_assert(sizeof(WHV_X64_IO_PORT_ACCESS_CONTEXT) == 96, "WHV_X64_IO_PORT_ACCESS_CONTEXT");
_Static_assert(sizeof(WHV_RUN_VP_EXIT_CONTEXT) == 224, "WHV_RUN_VP_EXIT_CONTEXT");

/* [API] the functions */
HRESULT WHvGetCapability(UINT32 CapabilityCode, void *CapabilityBuffer,
                         UINT32 CapabilityBufferSizeInBytes, UINT32 *WrittenSizeInBytes);
HRESULT WHvCreatePartition(WHV_PARTITION_HANDLE *Partition);
HRESULT WHvSetupPartition(WHV_PARTITION_HANDLE Partition);
HRESULT WHvDeletePartition(WHV_PARTITION_HANDLE Partition);
HRESULT WHvGetPartitionProperty(WHV_PARTITION_HANDLE Partition, UINT32 PropertyCode,
                                void *PropertyBuffer, UINT32 PropertyBufferSizeInBytes,
                                UINT32 *WrittenSizeInBytes);
HRESULT WHvSetPartitionProperty(WHV_PARTITION_HANDLE Partition, UINT32 PropertyCode,
                                const void *PropertyBuffer, UINT32 PropertyBufferSizeInBytes);
HRESULT WHvMapGpaRange(WHV_PARTITION_HANDLE Partition, void *SourceAddress,
                       WHV_GUEST_PHYSICAL_ADDRESS GuestAddress, UINT64 SizeInBytes, UINT32 Flags);
HRESULT WHvUnmapGpaRange(WHV_PARTITION_HANDLE Partition, WHV_GUEST_PHYSICAL_ADDRESS GuestAddress,
                         UINT64 SizeInBytes);
HRESULT WHvQueryGpaRangeDirtyBitmap(WHV_PARTITION_HANDLE Partition,
                                    WHV_GUEST_PHYSICAL_ADDRESS GuestAddress,
                                    UINT64 RangeSizeInBytes, UINT64 *Bitmap,
                                    UINT32 BitmapSizeInBytes);
HRESULT WHvTranslateGva(WHV_PARTITION_HANDLE Partition, UINT32 VpIndex,
                        WHV_GUEST_VIRTUAL_ADDRESS Gva, UINT32 TranslateFlags,
                        WHV_TRANSLATE_GVA_RESULT *TranslationResult,
                        WHV_GUEST_PHYSICAL_ADDRESS *Gpa);
HRESULT WHvCreateVirtualProcessor(WHV_PARTITION_HANDLE Partition, UINT32 VpIndex, UINT32 Flags);
HRESULT WHvDeleteVirtualProcessor(WHV_PARTITION_HANDLE Partition, UINT32 VpIndex);
HRESULT WHvRunVirtualProcessor(WHV_PARTITION_HANDLE Partition, UINT32 VpIndex, void *ExitContext,
                               UINT32 ExitContextSizeInBytes);
HRESULT WHvCancelRunVirtualProcessor(WHV_PARTITION_HANDLE Partition, UINT32 VpIndex,
                                     UINT32 Flags);
HRESULT WHvGetVirtualProcessorRegisters(WHV_PARTITION_HANDLE Partition, UINT32 VpIndex,
                                        const UINT32 *RegisterNames, UINT32 RegisterCount,
                                        WHV_REGISTER_VALUE *RegisterValues);
HRESULT WHvSetVirtualProcessorRegisters(WHV_PARTITION_HANDLE Partition, UINT32 VpIndex,
                                        const UINT32 *RegisterNames, UINT32 RegisterCount,
                                        const WHV_REGISTER_VALUE *RegisterValues);

#endif
