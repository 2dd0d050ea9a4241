/* pca.c - placeholder, being written. */
