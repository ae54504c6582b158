.intel_syntax noprefix
.code16
mov ax, 0x1234
add ax, bx
out 0x10, ax
hlt
mov eax, 0x12345678
mov byte ptr [bx+si], 1
mov ax, word ptr [bp+di+4]
mov word ptr [0x1000], ax
mov ax, word ptr [bp]
lea ax, [bx+0x10]
mov eax, dword ptr [ebx]
inc ax
push cs
lgdt [0x500]
mov cr0, eax
ljmp 0x08, 0x1000
jmp label
label: jne label
mov ds, ax
mov ss, ax
cli
rep movsb
