package dev.glint.hv.whp.internal.sys;

import java.util.Locale;
import java.util.Map;

/**
 * The {@code HRESULT}s the Windows Hypervisor Platform documents, by name: {@code winerror.h} as
 * published in [MS-ERREF] and the Windows SDK ({@code FACILITY_VIRTUALIZATION} 0x37 for {@code
 * WHV_E_*}, {@code FACILITY_WIN32} 7 for the common {@code E_*} ones, and the hypervisor's own
 * {@code ERROR_HV_*} codes that WHP passes through). Checked against the double's header by {@code
 * WhpLayoutTest}.
 */
public final class HResult {
  public static final int S_OK = 0x00000000;
  public static final int E_NOTIMPL = 0x80004001;
  public static final int E_POINTER = 0x80004003;
  public static final int E_FAIL = 0x80004005;
  public static final int E_UNEXPECTED = 0x8000FFFF;
  public static final int E_ACCESSDENIED = 0x80070005;
  public static final int E_HANDLE = 0x80070006;
  public static final int E_OUTOFMEMORY = 0x8007000E;
  public static final int E_INVALIDARG = 0x80070057;
  public static final int WHV_E_UNKNOWN_CAPABILITY = 0x80370300;
  public static final int WHV_E_INSUFFICIENT_BUFFER = 0x80370301;
  public static final int WHV_E_UNKNOWN_PROPERTY = 0x80370302;
  public static final int WHV_E_UNSUPPORTED_HYPERVISOR_CONFIG = 0x80370303;
  public static final int WHV_E_INVALID_PARTITION_CONFIG = 0x80370304;
  public static final int WHV_E_GPA_RANGE_NOT_FOUND = 0x80370305;
  public static final int WHV_E_VP_ALREADY_EXISTS = 0x80370306;
  public static final int WHV_E_VP_DOES_NOT_EXIST = 0x80370307;
  public static final int WHV_E_INVALID_VP_STATE = 0x80370308;
  public static final int WHV_E_INVALID_VP_REGISTER_NAME = 0x80370309;
  public static final int WHV_E_UNSUPPORTED_PROCESSOR_CONFIG = 0x80370310;

  /** ERROR_HV_* codes of the hypervisor, returned as they are by WHP calls. */
  static final int ERROR_HV_INVALID_PARAMETER = 0xC0350005;

  static final int ERROR_HV_ACCESS_DENIED = 0xC0350006;
  static final int ERROR_HV_INVALID_PARTITION_STATE = 0xC0350007;
  static final int ERROR_HV_OPERATION_DENIED = 0xC0350008;
  static final int ERROR_HV_INSUFFICIENT_MEMORY = 0xC035000B;
  static final int ERROR_HV_INVALID_REGISTER_VALUE = 0xC0350050;

  private static final Map<Integer, String> NAMES =
      Map.ofEntries(
          Map.entry(S_OK, "S_OK"),
          Map.entry(E_NOTIMPL, "E_NOTIMPL"),
          Map.entry(E_POINTER, "E_POINTER"),
          Map.entry(E_FAIL, "E_FAIL"),
          Map.entry(E_UNEXPECTED, "E_UNEXPECTED"),
          Map.entry(E_ACCESSDENIED, "E_ACCESSDENIED"),
          Map.entry(E_HANDLE, "E_HANDLE"),
          Map.entry(E_OUTOFMEMORY, "E_OUTOFMEMORY"),
          Map.entry(E_INVALIDARG, "E_INVALIDARG"),
          Map.entry(WHV_E_UNKNOWN_CAPABILITY, "WHV_E_UNKNOWN_CAPABILITY"),
          Map.entry(WHV_E_INSUFFICIENT_BUFFER, "WHV_E_INSUFFICIENT_BUFFER"),
          Map.entry(WHV_E_UNKNOWN_PROPERTY, "WHV_E_UNKNOWN_PROPERTY"),
          Map.entry(WHV_E_UNSUPPORTED_HYPERVISOR_CONFIG, "WHV_E_UNSUPPORTED_HYPERVISOR_CONFIG"),
          Map.entry(WHV_E_INVALID_PARTITION_CONFIG, "WHV_E_INVALID_PARTITION_CONFIG"),
          Map.entry(WHV_E_GPA_RANGE_NOT_FOUND, "WHV_E_GPA_RANGE_NOT_FOUND"),
          Map.entry(WHV_E_VP_ALREADY_EXISTS, "WHV_E_VP_ALREADY_EXISTS"),
          Map.entry(WHV_E_VP_DOES_NOT_EXIST, "WHV_E_VP_DOES_NOT_EXIST"),
          Map.entry(WHV_E_INVALID_VP_STATE, "WHV_E_INVALID_VP_STATE"),
          Map.entry(WHV_E_INVALID_VP_REGISTER_NAME, "WHV_E_INVALID_VP_REGISTER_NAME"),
          Map.entry(WHV_E_UNSUPPORTED_PROCESSOR_CONFIG, "WHV_E_UNSUPPORTED_PROCESSOR_CONFIG"),
          Map.entry(ERROR_HV_INVALID_PARAMETER, "ERROR_HV_INVALID_PARAMETER"),
          Map.entry(ERROR_HV_ACCESS_DENIED, "ERROR_HV_ACCESS_DENIED"),
          Map.entry(ERROR_HV_INVALID_PARTITION_STATE, "ERROR_HV_INVALID_PARTITION_STATE"),
          Map.entry(ERROR_HV_OPERATION_DENIED, "ERROR_HV_OPERATION_DENIED"),
          Map.entry(ERROR_HV_INSUFFICIENT_MEMORY, "ERROR_HV_INSUFFICIENT_MEMORY"),
          Map.entry(ERROR_HV_INVALID_REGISTER_VALUE, "ERROR_HV_INVALID_REGISTER_VALUE"));

  private HResult() {}

  /** {@return whether {@code hr} reports success (severity bit clear)} */
  public static boolean succeeded(int hr) {
    return hr >= 0;
  }

  /** {@return the documented name of {@code hr}, or "HRESULT 0x...." for one not in the table} */
  public static String name(int hr) {
    String name = NAMES.get(hr);
    return name != null ? name : String.format(Locale.ENGLISH, "HRESULT 0x%08X", hr);
  }

  /** {@return every name of the table with its value, for the layout test} */
  public static Map<String, Integer> table() {
    java.util.TreeMap<String, Integer> table = new java.util.TreeMap<>();
    NAMES.forEach((value, name) -> table.put(name, value));
    return table;
  }
}
