package dev.glint.sandbox;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HexFormat;

/**
 * A hand-written hostile guest that speaks just enough of the protocol to start (it copies a
 * function table to the output buffer and signals READY), then misbehaves in the way the first
 * letter of the called function's name selects. Every function takes nothing and returns i32. Runs
 * at CPL 0 and CPL 3; needs nothing but {@code out}, {@code in} and plain moves.
 *
 * <table class="striped">
 *   <caption>Functions</caption>
 *   <tr><td>O</td><td>returns 42 (a well-formed return record)</td></tr>
 *   <tr><td>F</td><td>forges a FAULT: RAX = 14, {@code out} to 0x105 from its own code</td></tr>
 *   <tr><td>P</td><td>{@code out} to port 0x106, which the ABI does not define</td></tr>
 *   <tr><td>I</td><td>{@code in} from port 0x100</td></tr>
 *   <tr><td>H</td><td>HOST_CALL with a record whose magic is "HL"</td></tr>
 *   <tr><td>L</td><td>LOG with level 9</td></tr>
 *   <tr><td>R</td><td>signals READY again instead of RETURN</td></tr>
 *   <tr><td>T</td><td>RETURN with an i32 and one trailing byte</td></tr>
 *   <tr><td>D</td><td>loads an empty IDT ({@code lidt}), then {@code ud2}: a triple fault at CPL 0,
 *       #GP at CPL 3 (lidt is privileged)</td></tr>
 * </table>
 *
 * <p>Assembled with GNU as (intel syntax), bytes from objdump.
 */
final class RogueGuest {
  private RogueGuest() {}

  static final long BASE = 0x200000;

  private static final byte[] CODE =
      hex(
          "49 89 ff", // _start: mov r15,rdi
          "49 8b 7f 20", // mov rdi,[r15+0x20]
          "48 8d 35 06 01 00 00", // lea rsi,[rip+0x106]
          "b9 37 00 00 00", // mov ecx,0x37
          "f3 a4", // rep movs byte es:[rdi],byte ds:[rsi]
          "ba 00 01 00 00", // mov edx,0x100
          "ee", // out dx,al
          "49 8b 77 10", // next: mov rsi,[r15+0x10]
          "0f b6 46 0a", // movzx eax,byte [rsi+0xa]
          "49 8b 7f 20", // mov rdi,[r15+0x20]
          "3c 46", // cmp al,0x46
          "74 4a", // je 75 <forge_fault>
          "3c 50", // cmp al,0x50
          "74 53", // je 82 <bad_port>
          "3c 49", // cmp al,0x49
          "74 57", // je 8a <in_port>
          "3c 48", // cmp al,0x48
          "74 5b", // je 92 <bad_host_call>
          "3c 4c", // cmp al,0x4c
          "74 6f", // je aa <bad_log>
          "3c 52", // cmp al,0x52
          "0f 84 8a 00 00 00", // je cd <ready_again>
          "3c 54", // cmp al,0x54
          "0f 84 8d 00 00 00", // je d8 <trailing>
          "3c 44", // cmp al,0x44
          "0f 84 ae 00 00 00", // je 101 <triple_fault>
          "c7 07 47 4c 01 02", // ok: mov dword [rdi],0x2014c47
          "c7 47 04 06 00 00 00", // mov dword [rdi+0x4],0x6
          "66 c7 47 08 00 01", // mov word [rdi+0x8],0x100
          "c7 47 0a 2a 00 00 00", // mov dword [rdi+0xa],0x2a
          "ba 01 01 00 00", // mov edx,0x101
          "ee", // out dx,al
          "eb a6", // jmp 1b <next>
          "b8 0e 00 00 00", // forge_fault: mov eax,0xe
          "ba 05 01 00 00", // mov edx,0x105
          "ee", // out dx,al
          "eb 99", // jmp 1b <next>
          "ba 06 01 00 00", // bad_port: mov edx,0x106
          "ee", // out dx,al
          "eb 91", // jmp 1b <next>
          "ba 00 01 00 00", // in_port: mov edx,0x100
          "ec", // in al,dx
          "eb 89", // jmp 1b <next>
          "c7 07 48 4c 01 03", // bad_host_call: mov dword [rdi],0x3014c48
          "c7 47 04 00 00 00 00", // mov dword [rdi+0x4],0x0
          "ba 02 01 00 00", // mov edx,0x102
          "ee", // out dx,al
          "e9 71 ff ff ff", // jmp 1b <next>
          "c7 07 47 4c 01 05", // bad_log: mov dword [rdi],0x5014c47
          "c7 47 04 05 00 00 00", // mov dword [rdi+0x4],0x5
          "c6 47 08 09", // mov byte [rdi+0x8],0x9
          "c7 47 09 00 00 00 00", // mov dword [rdi+0x9],0x0
          "ba 03 01 00 00", // mov edx,0x103
          "ee", // out dx,al
          "e9 4e ff ff ff", // jmp 1b <next>
          "ba 00 01 00 00", // ready_again: mov edx,0x100
          "ee", // out dx,al
          "e9 43 ff ff ff", // jmp 1b <next>
          "c7 07 47 4c 01 02", // trailing: mov dword [rdi],0x2014c47
          "c7 47 04 07 00 00 00", // mov dword [rdi+0x4],0x7
          "66 c7 47 08 00 01", // mov word [rdi+0x8],0x100
          "c7 47 0a 2a 00 00 00", // mov dword [rdi+0xa],0x2a
          "c6 47 0e 00", // mov byte [rdi+0xe],0x0
          "ba 01 01 00 00", // mov edx,0x101
          "ee", // out dx,al
          "e9 1a ff ff ff", // jmp 1b <next>
          "0f 01 1d 02 00 00 00", // triple_fault: lidt [rip+0x2]
          "0f 0b", // ud2
          "00 00 00 00 00 00 00 00 00 00", // null_idt: limit 0, base 0
          // table: the function table record (kind 7), 55 bytes: 9 functions "O" .. "D",
          // each { u16 1, letter, return tag 1 (i32), 0 parameters }
          "47 4c 01 07 2f 00 00 00 09 00",
          "01 00 4f 01 00",
          "01 00 46 01 00",
          "01 00 50 01 00",
          "01 00 49 01 00",
          "01 00 48 01 00",
          "01 00 4c 01 00",
          "01 00 52 01 00",
          "01 00 54 01 00",
          "01 00 44 01 00");

  /** The offset of the function table in {@link #CODE}. */
  private static final int TABLE = 0x114;

  /** {@return the guest as an ELF file} */
  static byte[] elf() {
    return elf(CODE);
  }

  /** {@return the guest with a function table that lists "O" twice (its second name patched)} */
  static byte[] elfWithDuplicateNames() {
    byte[] code = CODE.clone();
    code[TABLE + 10 + 5 + 2] = 'O';
    return elf(code);
  }

  /** {@return a guest that never becomes ready: its entry is {@code jmp $} (eb fe)} */
  static byte[] spinningElf() {
    return elf(new byte[] {(byte) 0xEB, (byte) 0xFE});
  }

  /** One R+X PT_LOAD at {@link #BASE} from file offset 0x1000; entry at its start. */
  private static byte[] elf(byte[] code) {
    ByteBuffer b = ByteBuffer.allocate(0x1000 + code.length).order(ByteOrder.LITTLE_ENDIAN);
    b.put(new byte[] {0x7F, 'E', 'L', 'F', 2, 1, 1, 0});
    b.putShort(0x10, (short) 2).putShort(0x12, (short) 62).putInt(0x14, 1);
    b.putLong(0x18, BASE).putLong(0x20, 64);
    b.putShort(0x34, (short) 64).putShort(0x36, (short) 56).putShort(0x38, (short) 1);
    b.putInt(64, 1).putInt(68, 5).putLong(72, 0x1000).putLong(80, BASE).putLong(88, BASE);
    b.putLong(96, code.length).putLong(104, code.length).putLong(112, 0x1000);
    b.put(0x1000, code);
    return b.array();
  }

  private static byte[] hex(String... parts) {
    return HexFormat.of().parseHex(String.join("", parts).replace(" ", ""));
  }
}
