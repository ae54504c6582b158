/**
 * The sample and test guests, built from C by the guest SDK's Makefile and shipped as resources.
 * The package is open so that other modules can read the guests through {@link
 * dev.glint.guest.SampleGuests}.
 */
module dev.glint.guest {
  exports dev.glint.guest;

  opens dev.glint.guest;
}
