/* ssim.c - placeholder, being written. */
