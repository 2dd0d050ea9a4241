/* trainer.c - placeholder, being written. */
