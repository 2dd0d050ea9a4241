/* idx.c - placeholder, being written. */
