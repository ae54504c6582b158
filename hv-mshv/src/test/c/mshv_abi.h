/*
 * The Linux /dev/mshv user ABI (Linux 6.15+) and the Microsoft Hypervisor structures it carries,
 * written for Glint's mshv test double and layout test from the public documentation:
 *
 *  [uapi]  include/uapi/linux/mshv.h (Linux 6.15): the ioctls and their argument structs.
 *  [mini]  include/hyperv/hvgdk_mini.h: hv_message, hv_x64_segment_register, hv_x64_table_register,
 *          hv_register_value/assoc, hv_input_{get,set}_vp_registers, register names, HVCALL_*, HV_STATUS_*.
 *  [hdk]   include/hyperv/hvhdk.h: hv_x64_intercept_message_header, hv_x64_memory_intercept_message,
 *          hv_x64_io_port_intercept_message and the access-info unions.
 *  [tlfs]  Microsoft Hypervisor Top-Level Functional Specification (HvCallGetVpRegisters 0x0050,
 *          HvCallSetVpRegisters 0x0051, the intercept message formats).
 *  [drv]   drivers/hv/mshv_root_main.c: MSHV_ROOT_HVCALL's checks (status and rsvd must be zero,
 *          in_sz 8..4096, out_sz 1..4096 when out_ptr is set, an allow-list of codes), MSHV_RUN_VP
 *          returning EINTR on a signal, the VP mmap offsets.
 *
 * Only what Glint uses is declared. Bit-fields of the documents are given as whole bytes/words
 * with the bit positions as macros, so the layout does not depend on a compiler's bit-field rules.
 * See docs/mshv-backend.md for the table of layouts and the sources of each value.
 */
#ifndef GLINT_MSHV_ABI_H
#define GLINT_MSHV_ABI_H

#include <stdint.h>
#include <linux/ioctl.h>

#define GLINT_PACKED __attribute__((packed))

/* ---- [uapi] /dev/mshv ---- */
#define MSHV_IOCTL 0xB8

#define MSHV_PT_BIT_LAPIC 0
#define MSHV_PT_BIT_X2APIC 1
#define MSHV_PT_BIT_GPA_SUPER_PAGES 2
#define MSHV_PT_BIT_COUNT 3
#define MSHV_PT_FLAGS_MASK ((1 << MSHV_PT_BIT_COUNT) - 1)
#define MSHV_PT_ISOLATION_NONE 0
#define MSHV_PT_ISOLATION_COUNT 1

struct mshv_create_partition {
  uint64_t pt_flags;
  uint64_t pt_isolation;
};

#define MSHV_CREATE_PARTITION _IOW(MSHV_IOCTL, 0x00, struct mshv_create_partition)

/* ---- [uapi] partition fds ---- */
struct mshv_create_vp {
  uint32_t vp_index;
};

#define MSHV_SET_MEM_BIT_WRITABLE 0
#define MSHV_SET_MEM_BIT_EXECUTABLE 1
#define MSHV_SET_MEM_BIT_UNMAP 2
#define MSHV_SET_MEM_BIT_COUNT 3
#define MSHV_SET_MEM_FLAGS_MASK ((1 << MSHV_SET_MEM_BIT_COUNT) - 1)
#define MSHV_HV_PAGE_SIZE 0x1000

struct mshv_user_mem_region {
  uint64_t size;
  uint64_t guest_pfn;
  uint64_t userspace_addr;
  uint8_t flags;
  uint8_t rsvd[7];
};

struct mshv_root_hvcall {
  uint16_t code;
  uint16_t reps;
  uint16_t in_sz;
  uint16_t out_sz;
  uint16_t status;
  uint8_t rsvd[6];
  uint64_t in_ptr;
  uint64_t out_ptr;
};

#define MSHV_INITIALIZE_PARTITION _IO(MSHV_IOCTL, 0x00)
#define MSHV_CREATE_VP _IOW(MSHV_IOCTL, 0x01, struct mshv_create_vp)
#define MSHV_SET_GUEST_MEMORY _IOW(MSHV_IOCTL, 0x02, struct mshv_user_mem_region)
#define MSHV_ROOT_HVCALL _IOWR(MSHV_IOCTL, 0x07, struct mshv_root_hvcall)

/* ---- [uapi] VP fds ---- */
#define MSHV_RUN_VP_BUF_SZ 256
#define MSHV_VP_MMAP_OFFSET_REGISTERS 0
#define MSHV_VP_MMAP_OFFSET_INTERCEPT_MESSAGE 1
#define MSHV_VP_MMAP_OFFSET_GHCB 2

struct mshv_run_vp {
  uint8_t msg_buf[MSHV_RUN_VP_BUF_SZ];
};

#define MSHV_RUN_VP _IOR(MSHV_IOCTL, 0x00, struct mshv_run_vp)

/* ---- [mini] hypercalls and statuses ---- */
#define HVCALL_GET_PARTITION_PROPERTY 0x0044
#define HVCALL_SET_PARTITION_PROPERTY 0x0045
#define HVCALL_INSTALL_INTERCEPT 0x004d
#define HVCALL_GET_VP_REGISTERS 0x0050
#define HVCALL_SET_VP_REGISTERS 0x0051
#define HVCALL_TRANSLATE_VIRTUAL_ADDRESS 0x0052
#define HVCALL_CLEAR_VIRTUAL_INTERRUPT 0x0056
#define HVCALL_REGISTER_INTERCEPT_RESULT 0x0091
#define HVCALL_ASSERT_VIRTUAL_INTERRUPT 0x0094
#define HVCALL_SIGNAL_EVENT_DIRECT 0x00c0
#define HVCALL_POST_MESSAGE_DIRECT 0x00c1
#define HVCALL_GET_VP_CPUID_VALUES 0x00f4

#define HV_STATUS_SUCCESS 0x0
#define HV_STATUS_INVALID_HYPERCALL_CODE 0x2
#define HV_STATUS_INVALID_HYPERCALL_INPUT 0x3
#define HV_STATUS_INVALID_ALIGNMENT 0x4
#define HV_STATUS_INVALID_PARAMETER 0x5
#define HV_STATUS_ACCESS_DENIED 0x6
#define HV_STATUS_INVALID_PARTITION_STATE 0x7
#define HV_STATUS_OPERATION_DENIED 0x8
#define HV_STATUS_INSUFFICIENT_MEMORY 0xB
#define HV_STATUS_INVALID_PARTITION_ID 0xD
#define HV_STATUS_INVALID_VP_INDEX 0xE
#define HV_STATUS_INVALID_VP_STATE 0x15
#define HV_STATUS_INVALID_REGISTER_VALUE 0x50

/* ---- [mini] registers ---- */
struct hv_u128 {
  uint64_t low_part;
  uint64_t high_part;
} GLINT_PACKED;

/* attributes: type 0-3, non_system 4, dpl 5-6, present 7, reserved 8-11, available 12, long 13,
 * default 14, granularity 15 */
struct hv_x64_segment_register {
  uint64_t base;
  uint32_t limit;
  uint16_t selector;
  uint16_t attributes;
} GLINT_PACKED;

#define HV_SEGMENT_TYPE_MASK 0xF
#define HV_SEGMENT_NON_SYSTEM (1u << 4)
#define HV_SEGMENT_DPL_SHIFT 5
#define HV_SEGMENT_PRESENT (1u << 7)
#define HV_SEGMENT_AVAILABLE (1u << 12)
#define HV_SEGMENT_LONG (1u << 13)
#define HV_SEGMENT_DEFAULT (1u << 14)
#define HV_SEGMENT_GRANULARITY (1u << 15)

struct hv_x64_table_register {
  uint16_t pad[3];
  uint16_t limit;
  uint64_t base;
} GLINT_PACKED;

/* union hv_register_value: 16 bytes; the members Glint uses. */
union hv_register_value {
  struct hv_u128 reg128;
  uint64_t reg64;
  uint32_t reg32;
  uint16_t reg16;
  uint8_t reg8;
  struct hv_x64_segment_register segment;
  struct hv_x64_table_register table;
};

struct hv_register_assoc {
  uint32_t name;
  uint32_t reserved1;
  uint64_t reserved2;
  union hv_register_value value;
} GLINT_PACKED;

struct hv_input_get_vp_registers {
  uint64_t partition_id;
  uint32_t vp_index;
  uint8_t input_vtl;
  uint8_t rsvd_z8;
  uint16_t rsvd_z16;
  uint32_t names[];
} GLINT_PACKED;

struct hv_input_set_vp_registers {
  uint64_t partition_id;
  uint32_t vp_index;
  uint8_t input_vtl;
  uint8_t rsvd_z8;
  uint16_t rsvd_z16;
  struct hv_register_assoc elements[];
} GLINT_PACKED;

#define HV_X64_REGISTER_RAX 0x00020000
#define HV_X64_REGISTER_RCX 0x00020001
#define HV_X64_REGISTER_RDX 0x00020002
#define HV_X64_REGISTER_RBX 0x00020003
#define HV_X64_REGISTER_RSP 0x00020004
#define HV_X64_REGISTER_RBP 0x00020005
#define HV_X64_REGISTER_RSI 0x00020006
#define HV_X64_REGISTER_RDI 0x00020007
#define HV_X64_REGISTER_R8 0x00020008
#define HV_X64_REGISTER_R9 0x00020009
#define HV_X64_REGISTER_R10 0x0002000A
#define HV_X64_REGISTER_R11 0x0002000B
#define HV_X64_REGISTER_R12 0x0002000C
#define HV_X64_REGISTER_R13 0x0002000D
#define HV_X64_REGISTER_R14 0x0002000E
#define HV_X64_REGISTER_R15 0x0002000F
#define HV_X64_REGISTER_RIP 0x00020010
#define HV_X64_REGISTER_RFLAGS 0x00020011
#define HV_X64_REGISTER_CR0 0x00040000
#define HV_X64_REGISTER_CR2 0x00040001
#define HV_X64_REGISTER_CR3 0x00040002
#define HV_X64_REGISTER_CR4 0x00040003
#define HV_X64_REGISTER_CR8 0x00040004
#define HV_X64_REGISTER_ES 0x00060000
#define HV_X64_REGISTER_CS 0x00060001
#define HV_X64_REGISTER_SS 0x00060002
#define HV_X64_REGISTER_DS 0x00060003
#define HV_X64_REGISTER_FS 0x00060004
#define HV_X64_REGISTER_GS 0x00060005
#define HV_X64_REGISTER_LDTR 0x00060006
#define HV_X64_REGISTER_TR 0x00060007
#define HV_X64_REGISTER_IDTR 0x00070000
#define HV_X64_REGISTER_GDTR 0x00070001
#define HV_X64_REGISTER_EFER 0x00080001
#define HV_X64_REGISTER_APIC_BASE 0x00080003

/* ---- [mini] messages ---- */
#define HV_MESSAGE_SIZE 256
#define HV_MESSAGE_PAYLOAD_BYTE_COUNT 240
#define HV_MESSAGE_PAYLOAD_QWORD_COUNT 30

#define HVMSG_NONE 0x00000000u
#define HVMSG_UNMAPPED_GPA 0x80000000u
#define HVMSG_GPA_INTERCEPT 0x80000001u
#define HVMSG_TIMER_EXPIRED 0x80000010u
#define HVMSG_INVALID_VP_REGISTER_VALUE 0x80000020u
#define HVMSG_UNRECOVERABLE_EXCEPTION 0x80000021u
#define HVMSG_UNSUPPORTED_FEATURE 0x80000022u
#define HVMSG_X64_IO_PORT_INTERCEPT 0x80010000u
#define HVMSG_X64_MSR_INTERCEPT 0x80010001u
#define HVMSG_X64_CPUID_INTERCEPT 0x80010002u
#define HVMSG_X64_EXCEPTION_INTERCEPT 0x80010003u
#define HVMSG_X64_HALT 0x80010007u

struct hv_message_header {
  uint32_t message_type;
  uint8_t payload_size;
  uint8_t message_flags;
  uint8_t reserved[2];
  uint64_t sender;
} GLINT_PACKED;

struct hv_message {
  struct hv_message_header header;
  uint64_t payload[HV_MESSAGE_PAYLOAD_QWORD_COUNT];
} GLINT_PACKED;

/* [hdk] intercept_access_type */
#define HV_INTERCEPT_ACCESS_READ 0
#define HV_INTERCEPT_ACCESS_WRITE 1
#define HV_INTERCEPT_ACCESS_EXECUTE 2

/* [hdk] instruction_length_cr8: instruction_length bits 0-3, cr8 bits 4-7.
 * execution_state: cpl 0-1, cr0_pe 2, cr0_am 3, efer_lma 4, debug_active 5,
 * interruption_pending 6, vtl 7-10, enclave_mode 11, interrupt_shadow 12. */
#define HV_EXECUTION_STATE_CPL_MASK 0x3
#define HV_EXECUTION_STATE_CR0_PE (1u << 2)
#define HV_EXECUTION_STATE_EFER_LMA (1u << 4)

struct hv_x64_intercept_message_header {
  uint32_t vp_index;
  uint8_t instruction_length_cr8;
  uint8_t intercept_access_type;
  uint16_t execution_state;
  struct hv_x64_segment_register cs_segment;
  uint64_t rip;
  uint64_t rflags;
} GLINT_PACKED;

/* memory_access_info: gva_valid 0, gva_gpa_valid 1 */
#define HV_MEMORY_ACCESS_GVA_VALID (1u << 0)
#define HV_MEMORY_ACCESS_GVA_GPA_VALID (1u << 1)

struct hv_x64_memory_intercept_message {
  struct hv_x64_intercept_message_header header;
  uint32_t cache_type;
  uint8_t instruction_byte_count;
  uint8_t memory_access_info;
  uint8_t tpr_priority;
  uint8_t reserved1;
  uint64_t guest_virtual_address;
  uint64_t guest_physical_address;
  uint8_t instruction_bytes[16];
} GLINT_PACKED;

/* access_info: access_size 0-2, string_op 3, rep_prefix 4 */
#define HV_IO_ACCESS_SIZE_MASK 0x7
#define HV_IO_ACCESS_STRING_OP (1u << 3)
#define HV_IO_ACCESS_REP_PREFIX (1u << 4)

struct hv_x64_io_port_intercept_message {
  struct hv_x64_intercept_message_header header;
  uint16_t port_number;
  uint8_t access_info;
  uint8_t instruction_byte_count;
  uint32_t reserved;
  uint64_t rax;
  uint8_t instruction_bytes[16];
  struct hv_x64_segment_register ds_segment;
  struct hv_x64_segment_register es_segment;
  uint64_t rcx;
  uint64_t rsi;
  uint64_t rdi;
} GLINT_PACKED;

#endif
