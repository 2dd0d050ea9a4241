/* optimizer.c - placeholder, being written. */
