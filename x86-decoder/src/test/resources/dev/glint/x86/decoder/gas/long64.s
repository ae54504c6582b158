.intel_syntax noprefix
.code64
add al, 5
add eax, 0x12345678
add rax, -3
add qword ptr [rip+0x100], 7
add byte ptr [rbx+rcx*4+0x10], dl
add r9d, dword ptr [r12]
add r13, qword ptr [r13]
adc rcx, rdx
sbb esi, 1
and r8b, 0x7f
or word ptr [rbp-2], 0x1234
xor sil, dil
xor ah, bh
sub rsp, 0x88
cmp byte ptr [rdi], 0
cmp r15, qword ptr [rsp+8]
test al, al
test qword ptr [rax], 0x100
not rdx
neg ecx
mul rbx
imul r10
div r11d
idiv byte ptr [rsi]
imul eax, ecx
imul rax, qword ptr [rbx], 100
imul edx, esi, 5
inc dword ptr [rax]
dec r14
rol eax, 3
ror rbx, 1
rcl cl, cl
rcr edx, 2
shl rax, 32
shr rax, cl
sar ecx, 31
shld eax, edx, 4
shld rax, rdx, cl
shrd eax, edx, 7
shrd rbx, rcx, cl
bt eax, 3
bts qword ptr [rdi], rax
btr rcx, 63
btc edx, ecx
bsf eax, ecx
bsr rax, qword ptr [rdx]
tzcnt eax, ecx
lzcnt rax, rbx
popcnt eax, dword ptr [rsi]
bswap eax
bswap r12
cbw
cwde
cdqe
cwd
cdq
cqo
lock xadd dword ptr [rdi], eax
lock cmpxchg qword ptr [rsi], rcx
cmpxchg byte ptr [rdx], bl
mov rax, rbx
mov byte ptr [rax], 0x5a
mov dword ptr [rbx+0x10], 0xdeadbeef
mov qword ptr [rsp], -1
mov rax, 0x1122334455667788
mov r11d, 7
mov al, byte ptr [0x1000]
movabs al, byte ptr [0x1122334455667788]
movabs qword ptr [0x1122334455667788], rax
mov ax, ds
mov ds, ax
mov fs, ax
mov rax, cr0
mov cr3, rax
mov rax, cr8
movzx eax, byte ptr [rdi]
movzx ecx, word ptr [rsi+2]
movsx rax, byte ptr [rbx]
movsx eax, dx
movsxd rax, dword ptr [rcx]
movsxd rdx, eax
lea rax, [rip+0x10]
lea rcx, [rax+rbx*8-4]
lea eax, [ebx+ecx]
xchg rax, rbx
xchg r8, rax
xchg byte ptr [rdi], al
cmove eax, ecx
cmovne rax, qword ptr [rdx]
cmova r8, r9
sete al
setne byte ptr [rbx]
setg r10b
push rbp
push r15
pop rbx
pop r12
push 5
push 0x1000
push qword ptr [rax]
pop qword ptr [rbx]
push fs
pop gs
pushfq
popfq
sahf
lahf
leave
jmp rax
jmp qword ptr [rip+0x20]
call rax
call qword ptr [rbx+8]
ret
ret 8
int3
int 0x80
iretq
iret
syscall
movsb
movsq
rep movsb
rep movsq
rep stosq
repe cmpsb
repne scasb
lodsd
stosw
insb
rep outsb
outsd
clc
stc
cmc
cld
std
cli
sti
nop
pause
nop dword ptr [rax+rax*1+0x0]
nop word ptr cs:[rax+rax*1+0x0]
endbr64
ud2
prefetcht0 [rax]
prefetchw [rbx]
lfence
mfence
sfence
cpuid
rdtsc
rdtscp
xgetbv
hlt
in al, 0x50
in ax, 0x51
in eax, dx
out 0x10, al
out 0x10, eax
out dx, al
out dx, ax
sgdt [rax]
lgdt [rax]
lidt [rbx+8]
invlpg [rax]
swapgs
lldt ax
ltr ax
str ax
clts
wbinvd
wrmsr
rdmsr
movups xmm0, xmmword ptr [rax]
movups xmmword ptr [rbx], xmm15
movupd xmm1, xmm2
movss xmm0, dword ptr [rax]
movss dword ptr [rax], xmm1
movsd xmm0, qword ptr [rsp+8]
movsd qword ptr [rsp], xmm7
movaps xmmword ptr [rsp+0x10], xmm0
movaps xmm9, xmm10
movapd xmm0, xmm1
movdqa xmm0, xmmword ptr [rax]
movdqa xmmword ptr [rax], xmm0
movdqu xmm0, xmmword ptr [rbx]
movdqu xmmword ptr [rbx+0x10], xmm0
movd xmm0, eax
movd eax, xmm0
movq xmm1, rbx
movq rax, xmm0
movq xmm0, qword ptr [rax]
movq qword ptr [rax], xmm0
pxor xmm0, xmm0
pand xmm1, xmm2
pandn xmm1, xmm2
por xmm1, xmm2
xorps xmm0, xmm0
andps xmm0, xmm1
andnps xmm0, xmm1
orps xmm0, xmm1
xorpd xmm0, xmm1
andpd xmm0, xmm1
andnpd xmm0, xmm1
orpd xmm0, xmm1
paddb xmm0, xmm1
paddw xmm0, xmm1
paddd xmm0, xmm1
paddq xmm0, xmm1
psubb xmm0, xmm1
psubw xmm0, xmm1
psubd xmm0, xmm1
psubq xmm0, xmm1
pcmpeqb xmm0, xmm1
pcmpeqw xmm0, xmm1
pcmpeqd xmm0, xmm1
pmovmskb eax, xmm0
punpcklqdq xmm0, xmm1
pshufd xmm0, xmm1, 0x1b
psrldq xmm0, 8
pslldq xmm0, 4
addss xmm0, xmm1
addsd xmm0, qword ptr [rax]
mulss xmm0, xmm1
mulsd xmm0, xmm1
subss xmm0, xmm1
subsd xmm0, xmm1
divss xmm0, xmm1
divsd xmm0, xmm1
sqrtss xmm0, xmm1
sqrtsd xmm0, xmm1
minsd xmm0, xmm1
maxsd xmm0, xmm1
ucomiss xmm0, xmm1
ucomisd xmm0, xmm1
comiss xmm0, xmm1
comisd xmm0, xmm1
cvtsi2ss xmm0, eax
cvtsi2sd xmm0, rax
cvttss2si eax, xmm0
cvttsd2si rax, xmm1
cvtss2sd xmm0, xmm1
cvtsd2ss xmm0, xmm1
ldmxcsr dword ptr [rsp]
stmxcsr dword ptr [rsp]
fxsave [rax]
fxrstor [rax]
mov eax, dword ptr fs:[0x28]
mov rax, qword ptr gs:[rbx]
mov r12, qword ptr [r12+r13*2+0x7fffffff]
mov rax, qword ptr [rsp]
mov eax, dword ptr [rbp]
mov eax, dword ptr [0x12345678]
mov spl, 1
mov bpl, byte ptr [rsi]
