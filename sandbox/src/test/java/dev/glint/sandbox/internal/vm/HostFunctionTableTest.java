package dev.glint.sandbox.internal.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glint.sandbox.internal.wire.FunctionSignature;
import dev.glint.sandbox.internal.wire.GuestRecords;
import dev.glint.sandbox.internal.wire.WireCodec;
import dev.glint.sandbox.internal.wire.WireType;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Answers to host calls, written into a plain byte-array "input buffer". */
class HostFunctionTableTest {
  private static final long OFFSET = 24;
  private final RuntimeException boom = new IllegalStateException("boom");
  private final HostFunctionTable table =
      new HostFunctionTable(
          List.of(
              binding(
                  "Len", WireType.I32, List.of(WireType.STRING), a -> ((String) a.get(0)).length()),
              binding(
                  "Fail",
                  WireType.I32,
                  List.of(),
                  a -> {
                    throw boom;
                  }),
              binding("Wrong", WireType.I32, List.of(), a -> "not an int"),
              binding("Big", WireType.BYTES, List.of(), a -> new byte[300]),
              binding("Lone", WireType.STRING, List.of(), a -> "\uD800"),
              binding("Nothing", WireType.VOID, List.of(), a -> null)));
  private final MemorySegment input = MemorySegment.ofArray(new byte[256]);

  private static HostBinding binding(
      String name, WireType result, List<WireType> parameters, HostBinding.Invoker invoker) {
    return new HostBinding(new FunctionSignature(name, result, parameters), invoker);
  }

  private Optional<HostCallFailure> answer(String name, List<WireType> types, List<Object> args) {
    return table.answer(new GuestRecords.HostCall(name, types, args), input, OFFSET);
  }

  private GuestRecords.Return result(WireType declared) {
    return WireCodec.decodeHostResult(input.asSlice(OFFSET), declared);
  }

  @Test
  void answersACallWithItsResultAtTheOffset() {
    assertEquals(Optional.empty(), answer("Len", List.of(WireType.STRING), List.of("héllo")));
    assertEquals(new GuestRecords.Returned(5), result(WireType.I32));
    assertEquals(0, input.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0), "nothing before it");
    assertEquals(Optional.empty(), answer("Nothing", List.of(), List.of()));
    assertEquals(new GuestRecords.Returned(null), result(WireType.VOID));
  }

  @Test
  void anUnknownNameIsErrorCode1() {
    assertEquals(
        Optional.of(new HostCallFailure.NotFound("Nope")), answer("Nope", List.of(), List.of()));
    GuestRecords.Failed failed = (GuestRecords.Failed) result(WireType.I32);
    assertEquals(1, failed.code());
    assertTrue(failed.message().contains("Nope"));
  }

  @Test
  void wrongArgumentTypesAreErrorCode2AndTheFunctionDoesNotRun() {
    HostCallFailure failure = answer("Len", List.of(WireType.I32), List.of(3)).orElseThrow();
    assertInstanceOf(HostCallFailure.TypeMismatch.class, failure);
    GuestRecords.Failed failed = (GuestRecords.Failed) result(WireType.I32);
    assertEquals(2, failed.code());
    assertEquals("host function Len(string) -> i32 called with (i32)", failed.message());
  }

  @Test
  void aThrowingFunctionIsErrorCode3WithItsMessage() {
    HostCallFailure.Threw threw =
        (HostCallFailure.Threw) answer("Fail", List.of(), List.of()).orElseThrow();
    assertSame(boom, threw.exception());
    assertEquals(new GuestRecords.Failed(3, "boom"), result(WireType.I32));
  }

  @Test
  void aResultOfTheWrongTypeIsErrorCode3() {
    assertInstanceOf(
        HostCallFailure.BadResult.class, answer("Wrong", List.of(), List.of()).orElseThrow());
    assertEquals(3, ((GuestRecords.Failed) result(WireType.I32)).code());
  }

  @Test
  void aResultTooLargeForTheInputBufferIsErrorCode4() {
    HostCallFailure.BadResult bad =
        (HostCallFailure.BadResult) answer("Big", List.of(), List.of()).orElseThrow();
    assertTrue(bad.problem().contains("room for 232"), bad.problem());
    assertEquals(4, ((GuestRecords.Failed) result(WireType.BYTES)).code());
  }

  @Test
  void aStringWithoutAUtf8FormIsErrorCode3() {
    HostCallFailure.BadResult bad =
        (HostCallFailure.BadResult) answer("Lone", List.of(), List.of()).orElseThrow();
    assertTrue(bad.problem().contains("unpaired surrogate"), bad.problem());
    assertEquals(3, ((GuestRecords.Failed) result(WireType.STRING)).code());
  }

  @Test
  void namesAreUnique() {
    HostBinding one = binding("A", WireType.VOID, List.of(), a -> null);
    assertThrows(IllegalArgumentException.class, () -> new HostFunctionTable(List.of(one, one)));
  }
}
