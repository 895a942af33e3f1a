"""The Together AI dialect of the emulator (``ftclient emulator --provider together``)."""
