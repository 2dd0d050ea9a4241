/* batches.c - placeholder, being written. */
