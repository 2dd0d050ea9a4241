/* layer_dense.c - placeholder, being written. */
