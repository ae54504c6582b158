package dev.glint.x86.decoder;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The one table of implemented instructions: every encoding the {@link Decoder} accepts, and so
 * every instruction the emulated backend executes (anything else decodes as invalid and raises
 * {@code #UD}). The documentation and the tests read this table; nothing else lists instructions.
 *
 * <p>Each {@link Entry} has a mnemonic, an opcode, operands and flags, written as in the Intel
 * SDM's opcode map:
 *
 * <ul>
 *   <li>Opcode: an optional mandatory prefix ({@code 66}, {@code F2}, {@code F3}), the escape bytes
 *       ({@code 0F}, {@code 0F 38}, {@code 0F 3A}), the opcode byte ({@code +r}: a register in the
 *       low three bits, {@code +cc}: a condition code in the low four), then {@code /r} (ModRM with
 *       a register operand), {@code /0}..{@code /7} (ModRM whose reg field extends the opcode) or a
 *       whole ModRM byte.
 *   <li>Operands, destination first: {@code E} ModRM r/m, {@code G} ModRM reg, {@code M} memory
 *       only, {@code R} a register in r/m, {@code C} a control register, {@code S} a segment
 *       register, {@code Z} a register in the opcode, {@code I} an immediate ({@code Ibs}: a byte
 *       sign-extended to the operand size), {@code J} a relative branch target, {@code O} an
 *       absolute offset, {@code A} a far pointer, {@code X}/{@code Y} the string source and
 *       destination, {@code V}/{@code U}/{@code W} an XMM register in reg, in r/m, or XMM register
 *       or memory in r/m; sizes {@code b} byte, {@code w} word, {@code d} doubleword, {@code q}
 *       quadword, {@code v} the operand size, {@code z} the operand size capped at 4, {@code y} 4
 *       or 8 (REX.W), {@code x} 16, {@code ss}/{@code sd} a scalar single/double; fixed registers
 *       by name ({@code AL}, {@code rAX}, {@code eAX}, {@code CL}, {@code DX}, {@code ES}..{@code
 *       GS}).
 *   <li>Flags: {@code lock} (LOCK allowed with a memory destination), {@code d64} (64-bit operand
 *       size by default in long mode), {@code f64} (always 64-bit in long mode), {@code i64}
 *       (invalid in long mode), {@code o64} (long mode only), {@code norexb} (not with REX.B).
 * </ul>
 *
 * <p>Immutable and thread-safe.
 */
public final class InstructionTable {

  private static final String TABLE =
      """
      ADD      | 00 /r        | Eb,Gb     | lock
      ADD      | 01 /r        | Ev,Gv     | lock
      ADD      | 02 /r        | Gb,Eb     |
      ADD      | 03 /r        | Gv,Ev     |
      ADD      | 04           | AL,Ib     |
      ADD      | 05           | rAX,Iz    |
      OR       | 08 /r        | Eb,Gb     | lock
      OR       | 09 /r        | Ev,Gv     | lock
      OR       | 0A /r        | Gb,Eb     |
      OR       | 0B /r        | Gv,Ev     |
      OR       | 0C           | AL,Ib     |
      OR       | 0D           | rAX,Iz    |
      ADC      | 10 /r        | Eb,Gb     | lock
      ADC      | 11 /r        | Ev,Gv     | lock
      ADC      | 12 /r        | Gb,Eb     |
      ADC      | 13 /r        | Gv,Ev     |
      ADC      | 14           | AL,Ib     |
      ADC      | 15           | rAX,Iz    |
      SBB      | 18 /r        | Eb,Gb     | lock
      SBB      | 19 /r        | Ev,Gv     | lock
      SBB      | 1A /r        | Gb,Eb     |
      SBB      | 1B /r        | Gv,Ev     |
      SBB      | 1C           | AL,Ib     |
      SBB      | 1D           | rAX,Iz    |
      AND      | 20 /r        | Eb,Gb     | lock
      AND      | 21 /r        | Ev,Gv     | lock
      AND      | 22 /r        | Gb,Eb     |
      AND      | 23 /r        | Gv,Ev     |
      AND      | 24           | AL,Ib     |
      AND      | 25           | rAX,Iz    |
      SUB      | 28 /r        | Eb,Gb     | lock
      SUB      | 29 /r        | Ev,Gv     | lock
      SUB      | 2A /r        | Gb,Eb     |
      SUB      | 2B /r        | Gv,Ev     |
      SUB      | 2C           | AL,Ib     |
      SUB      | 2D           | rAX,Iz    |
      XOR      | 30 /r        | Eb,Gb     | lock
      XOR      | 31 /r        | Ev,Gv     | lock
      XOR      | 32 /r        | Gb,Eb     |
      XOR      | 33 /r        | Gv,Ev     |
      XOR      | 34           | AL,Ib     |
      XOR      | 35           | rAX,Iz    |
      CMP      | 38 /r        | Eb,Gb     |
      CMP      | 39 /r        | Ev,Gv     |
      CMP      | 3A /r        | Gb,Eb     |
      CMP      | 3B /r        | Gv,Ev     |
      CMP      | 3C           | AL,Ib     |
      CMP      | 3D           | rAX,Iz    |
      ADD      | 80 /0        | Eb,Ib     | lock
      OR       | 80 /1        | Eb,Ib     | lock
      ADC      | 80 /2        | Eb,Ib     | lock
      SBB      | 80 /3        | Eb,Ib     | lock
      AND      | 80 /4        | Eb,Ib     | lock
      SUB      | 80 /5        | Eb,Ib     | lock
      XOR      | 80 /6        | Eb,Ib     | lock
      CMP      | 80 /7        | Eb,Ib     |
      ADD      | 81 /0        | Ev,Iz     | lock
      OR       | 81 /1        | Ev,Iz     | lock
      ADC      | 81 /2        | Ev,Iz     | lock
      SBB      | 81 /3        | Ev,Iz     | lock
      AND      | 81 /4        | Ev,Iz     | lock
      SUB      | 81 /5        | Ev,Iz     | lock
      XOR      | 81 /6        | Ev,Iz     | lock
      CMP      | 81 /7        | Ev,Iz     |
      ADD      | 83 /0        | Ev,Ibs    | lock
      OR       | 83 /1        | Ev,Ibs    | lock
      ADC      | 83 /2        | Ev,Ibs    | lock
      SBB      | 83 /3        | Ev,Ibs    | lock
      AND      | 83 /4        | Ev,Ibs    | lock
      SUB      | 83 /5        | Ev,Ibs    | lock
      XOR      | 83 /6        | Ev,Ibs    | lock
      CMP      | 83 /7        | Ev,Ibs    |
      TEST     | 84 /r        | Eb,Gb     |
      TEST     | 85 /r        | Ev,Gv     |
      TEST     | A8           | AL,Ib     |
      TEST     | A9           | rAX,Iz    |
      TEST     | F6 /0        | Eb,Ib     |
      TEST     | F7 /0        | Ev,Iz     |
      NOT      | F6 /2        | Eb        | lock
      NOT      | F7 /2        | Ev        | lock
      NEG      | F6 /3        | Eb        | lock
      NEG      | F7 /3        | Ev        | lock
      MUL      | F6 /4        | Eb        |
      MUL      | F7 /4        | Ev        |
      IMUL     | F6 /5        | Eb        |
      IMUL     | F7 /5        | Ev        |
      DIV      | F6 /6        | Eb        |
      DIV      | F7 /6        | Ev        |
      IDIV     | F6 /7        | Eb        |
      IDIV     | F7 /7        | Ev        |
      IMUL     | 0F AF /r     | Gv,Ev     |
      IMUL     | 69 /r        | Gv,Ev,Iz  |
      IMUL     | 6B /r        | Gv,Ev,Ibs |
      INC      | 40+r         | Zv        | i64
      DEC      | 48+r         | Zv        | i64
      INC      | FE /0        | Eb        | lock
      DEC      | FE /1        | Eb        | lock
      INC      | FF /0        | Ev        | lock
      DEC      | FF /1        | Ev        | lock
      ROL      | C0 /0        | Eb,Ib     |
      ROR      | C0 /1        | Eb,Ib     |
      RCL      | C0 /2        | Eb,Ib     |
      RCR      | C0 /3        | Eb,Ib     |
      SHL      | C0 /4        | Eb,Ib     |
      SHR      | C0 /5        | Eb,Ib     |
      SHL      | C0 /6        | Eb,Ib     |
      SAR      | C0 /7        | Eb,Ib     |
      ROL      | C1 /0        | Ev,Ib     |
      ROR      | C1 /1        | Ev,Ib     |
      RCL      | C1 /2        | Ev,Ib     |
      RCR      | C1 /3        | Ev,Ib     |
      SHL      | C1 /4        | Ev,Ib     |
      SHR      | C1 /5        | Ev,Ib     |
      SHL      | C1 /6        | Ev,Ib     |
      SAR      | C1 /7        | Ev,Ib     |
      ROL      | D0 /0        | Eb,1      |
      ROR      | D0 /1        | Eb,1      |
      RCL      | D0 /2        | Eb,1      |
      RCR      | D0 /3        | Eb,1      |
      SHL      | D0 /4        | Eb,1      |
      SHR      | D0 /5        | Eb,1      |
      SHL      | D0 /6        | Eb,1      |
      SAR      | D0 /7        | Eb,1      |
      ROL      | D1 /0        | Ev,1      |
      ROR      | D1 /1        | Ev,1      |
      RCL      | D1 /2        | Ev,1      |
      RCR      | D1 /3        | Ev,1      |
      SHL      | D1 /4        | Ev,1      |
      SHR      | D1 /5        | Ev,1      |
      SHL      | D1 /6        | Ev,1      |
      SAR      | D1 /7        | Ev,1      |
      ROL      | D2 /0        | Eb,CL     |
      ROR      | D2 /1        | Eb,CL     |
      RCL      | D2 /2        | Eb,CL     |
      RCR      | D2 /3        | Eb,CL     |
      SHL      | D2 /4        | Eb,CL     |
      SHR      | D2 /5        | Eb,CL     |
      SHL      | D2 /6        | Eb,CL     |
      SAR      | D2 /7        | Eb,CL     |
      ROL      | D3 /0        | Ev,CL     |
      ROR      | D3 /1        | Ev,CL     |
      RCL      | D3 /2        | Ev,CL     |
      RCR      | D3 /3        | Ev,CL     |
      SHL      | D3 /4        | Ev,CL     |
      SHR      | D3 /5        | Ev,CL     |
      SHL      | D3 /6        | Ev,CL     |
      SAR      | D3 /7        | Ev,CL     |
      SHLD     | 0F A4 /r     | Ev,Gv,Ib  |
      SHLD     | 0F A5 /r     | Ev,Gv,CL  |
      SHRD     | 0F AC /r     | Ev,Gv,Ib  |
      SHRD     | 0F AD /r     | Ev,Gv,CL  |
      BT       | 0F A3 /r     | Ev,Gv     |
      BTS      | 0F AB /r     | Ev,Gv     | lock
      BTR      | 0F B3 /r     | Ev,Gv     | lock
      BTC      | 0F BB /r     | Ev,Gv     | lock
      BT       | 0F BA /4     | Ev,Ib     |
      BTS      | 0F BA /5     | Ev,Ib     | lock
      BTR      | 0F BA /6     | Ev,Ib     | lock
      BTC      | 0F BA /7     | Ev,Ib     | lock
      BSF      | 0F BC /r     | Gv,Ev     |
      BSR      | 0F BD /r     | Gv,Ev     |
      TZCNT    | F3 0F BC /r  | Gv,Ev     |
      LZCNT    | F3 0F BD /r  | Gv,Ev     |
      POPCNT   | F3 0F B8 /r  | Gv,Ev     |
      BSWAP    | 0F C8+r      | Zv        |
      CBW      | 98           |           |
      CWD      | 99           |           |
      XADD     | 0F C0 /r     | Eb,Gb     | lock
      XADD     | 0F C1 /r     | Ev,Gv     | lock
      CMPXCHG  | 0F B0 /r     | Eb,Gb     | lock
      CMPXCHG  | 0F B1 /r     | Ev,Gv     | lock
      MOV      | 88 /r        | Eb,Gb     |
      MOV      | 89 /r        | Ev,Gv     |
      MOV      | 8A /r        | Gb,Eb     |
      MOV      | 8B /r        | Gv,Ev     |
      MOV      | 8C /r        | Ew,Sw     |
      MOV      | 8E /r        | Sw,Ew     |
      MOV      | A0           | AL,Ob     |
      MOV      | A1           | rAX,Ov    |
      MOV      | A2           | Ob,AL     |
      MOV      | A3           | Ov,rAX    |
      MOV      | B0+r         | Zb,Ib     |
      MOV      | B8+r         | Zv,Iv     |
      MOV      | C6 /0        | Eb,Ib     |
      MOV      | C7 /0        | Ev,Iz     |
      MOV      | 0F 20 /r     | R,C       |
      MOV      | 0F 22 /r     | C,R       |
      MOVZX    | 0F B6 /r     | Gv,Eb     |
      MOVZX    | 0F B7 /r     | Gv,Ew     |
      MOVSX    | 0F BE /r     | Gv,Eb     |
      MOVSX    | 0F BF /r     | Gv,Ew     |
      MOVSXD   | 63 /r        | Gv,Ed     | o64
      LEA      | 8D /r        | Gv,M      |
      XCHG     | 86 /r        | Eb,Gb     | lock
      XCHG     | 87 /r        | Ev,Gv     | lock
      XCHG     | 90+r         | Zv,rAX    |
      CMOVCC   | 0F 40+cc /r  | Gv,Ev     |
      SETCC    | 0F 90+cc /r  | Eb        |
      PUSH     | 50+r         | Zv        | d64
      POP      | 58+r         | Zv        | d64
      PUSH     | 6A           | Ibs       | d64
      PUSH     | 68           | Iz        | d64
      PUSH     | FF /6        | Ev        | d64
      POP      | 8F /0        | Ev        | d64
      PUSH     | 06           | ES        | i64
      POP      | 07           | ES        | i64
      PUSH     | 0E           | CS        | i64
      PUSH     | 16           | SS        | i64
      POP      | 17           | SS        | i64
      PUSH     | 1E           | DS        | i64
      POP      | 1F           | DS        | i64
      PUSH     | 0F A0        | FS        | d64
      POP      | 0F A1        | FS        | d64
      PUSH     | 0F A8        | GS        | d64
      POP      | 0F A9        | GS        | d64
      PUSHF    | 9C           |           | d64
      POPF     | 9D           |           | d64
      SAHF     | 9E           |           |
      LAHF     | 9F           |           |
      LEAVE    | C9           |           | d64
      JMP      | EB           | Jb        | f64
      JMP      | E9           | Jz        | f64
      JMP      | FF /4        | Ev        | f64
      JMP_FAR  | EA           | Ap        | i64
      JCC      | 70+cc        | Jb        | f64
      JCC      | 0F 80+cc     | Jz        | f64
      LOOPNE   | E0           | Jb        | f64
      LOOPE    | E1           | Jb        | f64
      LOOP     | E2           | Jb        | f64
      JRCXZ    | E3           | Jb        | f64
      CALL     | E8           | Jz        | f64
      CALL     | FF /2        | Ev        | f64
      RET      | C3           |           | f64
      RET      | C2           | Iw        | f64
      INT3     | CC           |           |
      INT      | CD           | Ib        |
      IRET     | CF           |           |
      SYSCALL  | 0F 05        |           | o64
      MOVS     | A4           | Yb,Xb     |
      MOVS     | A5           | Yv,Xv     |
      CMPS     | A6           | Xb,Yb     |
      CMPS     | A7           | Xv,Yv     |
      STOS     | AA           | Yb,AL     |
      STOS     | AB           | Yv,rAX    |
      LODS     | AC           | AL,Xb     |
      LODS     | AD           | rAX,Xv    |
      SCAS     | AE           | AL,Yb     |
      SCAS     | AF           | rAX,Yv    |
      INS      | 6C           | Yb,DX     |
      INS      | 6D           | Yz,DX     |
      OUTS     | 6E           | DX,Xb     |
      OUTS     | 6F           | DX,Xz     |
      CLC      | F8           |           |
      STC      | F9           |           |
      CMC      | F5           |           |
      CLD      | FC           |           |
      STD      | FD           |           |
      CLI      | FA           |           |
      STI      | FB           |           |
      NOP      | 90           |           | norexb
      PAUSE    | F3 90        |           |
      NOP      | 0F 1F /0     | Ev        |
      ENDBR64  | F3 0F 1E FA  |           |
      UD2      | 0F 0B        |           |
      PREFETCH | 0F 18 /0     | M         |
      PREFETCH | 0F 18 /1     | M         |
      PREFETCH | 0F 18 /2     | M         |
      PREFETCH | 0F 18 /3     | M         |
      PREFETCH | 0F 0D /1     | M         |
      LFENCE   | 0F AE E8     |           |
      MFENCE   | 0F AE F0     |           |
      SFENCE   | 0F AE F8     |           |
      CPUID    | 0F A2        |           |
      RDTSC    | 0F 31        |           |
      RDTSCP   | 0F 01 F9     |           |
      XGETBV   | 0F 01 D0     |           |
      HLT      | F4           |           |
      IN       | E4           | AL,Ib     |
      IN       | E5           | eAX,Ib    |
      IN       | EC           | AL,DX     |
      IN       | ED           | eAX,DX    |
      OUT      | E6           | Ib,AL     |
      OUT      | E7           | Ib,eAX    |
      OUT      | EE           | DX,AL     |
      OUT      | EF           | DX,eAX    |
      SGDT     | 0F 01 /0     | M         |
      SIDT     | 0F 01 /1     | M         |
      LGDT     | 0F 01 /2     | M         |
      LIDT     | 0F 01 /3     | M         |
      INVLPG   | 0F 01 /7     | M         |
      SWAPGS   | 0F 01 F8     |           | o64
      LLDT     | 0F 00 /2     | Ew        |
      LTR      | 0F 00 /3     | Ew        |
      STR      | 0F 00 /1     | Ew        |
      CLTS     | 0F 06        |           |
      WBINVD   | 0F 09        |           |
      WRMSR    | 0F 30        |           |
      RDMSR    | 0F 32        |           |
      MOVUPS   | 0F 10 /r     | Vx,Wx     |
      MOVUPS   | 0F 11 /r     | Wx,Vx     |
      MOVUPD   | 66 0F 10 /r  | Vx,Wx     |
      MOVUPD   | 66 0F 11 /r  | Wx,Vx     |
      MOVSS    | F3 0F 10 /r  | Vx,Wss    |
      MOVSS    | F3 0F 11 /r  | Wss,Vx    |
      MOVSD    | F2 0F 10 /r  | Vx,Wsd    |
      MOVSD    | F2 0F 11 /r  | Wsd,Vx    |
      MOVAPS   | 0F 28 /r     | Vx,Wx     |
      MOVAPS   | 0F 29 /r     | Wx,Vx     |
      MOVAPD   | 66 0F 28 /r  | Vx,Wx     |
      MOVAPD   | 66 0F 29 /r  | Wx,Vx     |
      MOVDQA   | 66 0F 6F /r  | Vx,Wx     |
      MOVDQA   | 66 0F 7F /r  | Wx,Vx     |
      MOVDQU   | F3 0F 6F /r  | Vx,Wx     |
      MOVDQU   | F3 0F 7F /r  | Wx,Vx     |
      MOVD     | 66 0F 6E /r  | Vx,Ey     |
      MOVD     | 66 0F 7E /r  | Ey,Vx     |
      MOVQ     | F3 0F 7E /r  | Vx,Wq     |
      MOVQ     | 66 0F D6 /r  | Wq,Vx     |
      PXOR     | 66 0F EF /r  | Vx,Wx     |
      PAND     | 66 0F DB /r  | Vx,Wx     |
      PANDN    | 66 0F DF /r  | Vx,Wx     |
      POR      | 66 0F EB /r  | Vx,Wx     |
      XORPS    | 0F 57 /r     | Vx,Wx     |
      ANDPS    | 0F 54 /r     | Vx,Wx     |
      ANDNPS   | 0F 55 /r     | Vx,Wx     |
      ORPS     | 0F 56 /r     | Vx,Wx     |
      XORPD    | 66 0F 57 /r  | Vx,Wx     |
      ANDPD    | 66 0F 54 /r  | Vx,Wx     |
      ANDNPD   | 66 0F 55 /r  | Vx,Wx     |
      ORPD     | 66 0F 56 /r  | Vx,Wx     |
      PADDB    | 66 0F FC /r  | Vx,Wx     |
      PADDW    | 66 0F FD /r  | Vx,Wx     |
      PADDD    | 66 0F FE /r  | Vx,Wx     |
      PADDQ    | 66 0F D4 /r  | Vx,Wx     |
      PSUBB    | 66 0F F8 /r  | Vx,Wx     |
      PSUBW    | 66 0F F9 /r  | Vx,Wx     |
      PSUBD    | 66 0F FA /r  | Vx,Wx     |
      PSUBQ    | 66 0F FB /r  | Vx,Wx     |
      PCMPEQB  | 66 0F 74 /r  | Vx,Wx     |
      PCMPEQW  | 66 0F 75 /r  | Vx,Wx     |
      PCMPEQD  | 66 0F 76 /r  | Vx,Wx     |
      PMOVMSKB | 66 0F D7 /r  | Gd,Ux     |
      PUNPCKLQDQ | 66 0F 6C /r | Vx,Wx    |
      PSHUFD   | 66 0F 70 /r  | Vx,Wx,Ib  |
      PSRLDQ   | 66 0F 73 /3  | Ux,Ib     |
      PSLLDQ   | 66 0F 73 /7  | Ux,Ib     |
      ADDSS    | F3 0F 58 /r  | Vx,Wss    |
      ADDSD    | F2 0F 58 /r  | Vx,Wsd    |
      MULSS    | F3 0F 59 /r  | Vx,Wss    |
      MULSD    | F2 0F 59 /r  | Vx,Wsd    |
      SUBSS    | F3 0F 5C /r  | Vx,Wss    |
      SUBSD    | F2 0F 5C /r  | Vx,Wsd    |
      DIVSS    | F3 0F 5E /r  | Vx,Wss    |
      DIVSD    | F2 0F 5E /r  | Vx,Wsd    |
      SQRTSS   | F3 0F 51 /r  | Vx,Wss    |
      SQRTSD   | F2 0F 51 /r  | Vx,Wsd    |
      MINSD    | F2 0F 5D /r  | Vx,Wsd    |
      MAXSD    | F2 0F 5F /r  | Vx,Wsd    |
      UCOMISS  | 0F 2E /r     | Vx,Wss    |
      UCOMISD  | 66 0F 2E /r  | Vx,Wsd    |
      COMISS   | 0F 2F /r     | Vx,Wss    |
      COMISD   | 66 0F 2F /r  | Vx,Wsd    |
      CVTSI2SS | F3 0F 2A /r  | Vx,Ey     |
      CVTSI2SD | F2 0F 2A /r  | Vx,Ey     |
      CVTTSS2SI | F3 0F 2C /r | Gy,Wss    |
      CVTTSD2SI | F2 0F 2C /r | Gy,Wsd    |
      CVTSS2SD | F3 0F 5A /r  | Vx,Wss    |
      CVTSD2SS | F2 0F 5A /r  | Vx,Wsd    |
      LDMXCSR  | 0F AE /2     | Md        |
      STMXCSR  | 0F AE /3     | Md        |
      FXSAVE   | 0F AE /0     | M         |
      FXRSTOR  | 0F AE /1     | M         |
      """;

  private static final List<Entry> ENTRIES = parse();

  private InstructionTable() {}

  /**
   * One encoding of one instruction.
   *
   * @param mnemonic the operation
   * @param opcode the opcode, for example {@code 0F B6 /r} or {@code 80 /7}
   * @param operands the operands, destination first, comma-separated (empty when none)
   * @param flags the flags, space-separated (empty when none)
   */
  public record Entry(Mnemonic mnemonic, String opcode, String operands, String flags) {

    /** {@return the operands as a list, destination first} */
    public List<String> operandList() {
      return operands.isEmpty() ? List.of() : List.of(operands.split(","));
    }

    /** {@return whether {@code flag} (such as {@code lock} or {@code i64}) is set} */
    public boolean hasFlag(String flag) {
      return List.of(flags.split(" ")).contains(flag);
    }

    /** {@return the modes this encoding is valid in} */
    public Set<CpuMode> modes() {
      if (hasFlag("i64")) {
        return EnumSet.of(CpuMode.REAL_16, CpuMode.PROTECTED_32);
      }
      if (hasFlag("o64")) {
        return EnumSet.of(CpuMode.LONG_64);
      }
      return EnumSet.allOf(CpuMode.class);
    }
  }

  /** {@return every implemented encoding, in table order} */
  public static List<Entry> entries() {
    return ENTRIES;
  }

  /** {@return the mnemonics that have at least one encoding} */
  public static Set<Mnemonic> mnemonics() {
    Set<Mnemonic> set = EnumSet.noneOf(Mnemonic.class);
    ENTRIES.forEach(e -> set.add(e.mnemonic()));
    return Collections.unmodifiableSet(set);
  }

  /**
   * {@return the table as Markdown (a header row and one row per encoding), as the documentation
   * shows it}
   */
  public static String markdown() {
    StringBuilder out = new StringBuilder();
    out.append("| Mnemonic | Opcode | Operands | Flags |\n");
    out.append("|---|---|---|---|\n");
    for (Entry e : ENTRIES) {
      out.append(
          String.format(
              Locale.ROOT,
              "| %s | `%s` | %s | %s |%n",
              e.mnemonic(),
              e.opcode(),
              e.operands().isEmpty() ? "" : "`" + e.operands() + "`",
              e.flags()));
    }
    return out.toString().replace(System.lineSeparator(), "\n");
  }

  private static List<Entry> parse() {
    List<Entry> entries = new ArrayList<>();
    for (String line : TABLE.strip().split("\n")) {
      String[] cells = line.split("\\|", -1);
      if (cells.length != 4) {
        throw new IllegalStateException("malformed instruction table line: " + line);
      }
      entries.add(
          new Entry(
              Mnemonic.valueOf(cells[0].strip()),
              cells[1].strip(),
              cells[2].strip(),
              cells[3].strip()));
    }
    return List.copyOf(entries);
  }
}
