"""The file formats the command line reads and writes itself: WAV audio
(:mod:`.wav`) and 16-bit PNG (:mod:`.png16`, which Pillow reads as 8-bit)."""
