/* model_io.c - placeholder, being written. */
