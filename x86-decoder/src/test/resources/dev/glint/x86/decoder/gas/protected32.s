.intel_syntax noprefix
.code32
inc eax
dec ecx
push es
pop ds
push ebp
mov eax, dword ptr [0x1000]
mov ax, word ptr [ebx+esi*2]
add eax, 0x12345678
jmp label
je label
label: call label
mov eax, cr0
mov cr0, eax
ljmp 0x08, 0x1000
lea eax, [bx+si]
