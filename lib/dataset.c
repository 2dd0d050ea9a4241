/* dataset.c - placeholder, being written. */
