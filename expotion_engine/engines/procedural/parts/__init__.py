"""Note generators, one module per part: drums, bass, harmony (chords) and melody."""
