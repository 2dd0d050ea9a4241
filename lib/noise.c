/* noise.c - placeholder, being written. */
