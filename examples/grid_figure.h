/* grid_figure.h - a grid of gray pictures with its labels inside the PNG,
 * so that the file explains itself wherever it is looked at: a title, a
 * label left of each row, one above each column (and a heading saying
 * what the column labels are), and, for grids whose tiles each stand for
 * something of their own (filters, say), a small label under each tile.
 *
 * The text is rendered by PLplot's cairo driver (device memcairo, the same
 * fonts as the charts) into a picture in memory; the tiles are then copied
 * in pixel for pixel, with the value mapping of ae_image_grid_write_png,
 * and the library writes the picture (ae_image_write_png: a temporary file
 * renamed into place, so a failed write never leaves half a file).  The
 * layout measures every label as drawn, so no label is clipped or overlaps
 * another or a tile; a figure that cannot be laid out so is an error. */
#ifndef EXAMPLES_GRID_FIGURE_H
#define EXAMPLES_GRID_FIGURE_H

typedef struct grid_figure {
    int rows, cols;     /* tiles, row by row */
    int h, w;           /* each tile: h x w gray pixels */
    const float *tiles; /* rows * cols * h * w values */
    float lo, hi;       /* lo black, hi white (clipped), as the library
                           draws; lo >= hi: each tile stretched to its own
                           range (a constant tile mid-gray) */
    int scale;          /* each pixel drawn as scale x scale (1..16) */
    const char *title;  /* above everything; NULL: none */
    const char *const *row_labels; /* rows labels, left of the rows */
    const char *const *col_labels; /* cols labels, above the columns (drawn
                                      upright if one is wider than a tile) */
    const char *col_heading;       /* left of the column labels: what they
                                      are ("label", "noise s"); NULL: none */
    const char *const *tile_labels; /* rows * cols small labels under the
                                       tiles, or NULL */
} grid_figure;

/* Write the figure to path (a .png).  Any label array may be NULL (no
 * labels there), as may any entry (that one left blank).  Returns 0, or -1
 * after printing why on stderr (bad arguments, a value that is not finite,
 * labels that cannot be laid out without overlapping, a picture too large
 * for ae_image_write_png, or the write failing). */
int grid_figure_write(const char *path, const grid_figure *g);

#endif
