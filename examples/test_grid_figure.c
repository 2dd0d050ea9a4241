/* test_grid_figure - the labelled grids of grid_figure.h, read back.
 *
 * Writes figures into a fresh folder and reads each back through the
 * library's PNG-folder loader: the tiles must appear pixel for pixel with
 * the library's value mapping, the labels as ink beside them (left of the
 * rows, above the columns), and figures that cannot be drawn (a value that
 * is not finite, a tile label wider than its tile) must fail without
 * leaving a file.
 *
 *   test_grid_figure        (exit 0: all passed; 1: a failure, said why) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <autoenc.h>

#include "grid_figure.h"

static int failures;

#define EXPECT(cond, ...)                                                  \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                \
            fprintf(stderr, __VA_ARGS__);                                  \
            fputc('\n', stderr);                                           \
            failures++;                                                    \
        }                                                                  \
    } while (0)

/* The one picture of folder dir (dir/figure/NAME.png) as gray levels
 * 0..255; NULL if it cannot be read. */
static float *read_back(const char *dir, int *h, int *w)
{
    ae_dataset *ds = NULL;
    if (ae_dataset_load_png_folder(&ds, dir) != AE_OK) {
        fprintf(stderr, "reading %s back: %s\n", dir, ae_last_error());
        return NULL;
    }
    float *px = NULL;
    if (ae_dataset_count(ds) == 1 &&
        ae_dataset_shape(ds, NULL, h, w) == AE_OK &&
        (px = malloc((size_t)*h * *w * sizeof *px)) != NULL &&
        ae_dataset_batch(ds, 0, 1, px, NULL) == AE_OK) {
        for (int i = 0; i < *h * *w; i++)
            px[i] = roundf(px[i] * 255.0f);
    } else {
        free(px);
        px = NULL;
    }
    ae_dataset_free(ds);
    return px;
}

/* Whether the picture holds, somewhere, an s x s block of value v whose
 * top-left corner is at (x, y): returns that corner through x, y. */
static int find_block(const float *px, int h, int w, int s, float v, int *x,
                      int *y)
{
    for (int y0 = 0; y0 + s <= h; y0++)
        for (int x0 = 0; x0 + s <= w; x0++) {
            int all = 1;
            for (int dy = 0; dy < s && all; dy++)
                for (int dx = 0; dx < s && all; dx++)
                    all = px[(y0 + dy) * w + x0 + dx] == v;
            if (all) {
                *x = x0;
                *y = y0;
                return 1;
            }
        }
    return 0;
}

/* Dark pixels (text) inside the rectangle. */
static int ink(const float *px, int w, int x0, int y0, int x1, int y1)
{
    int n = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++)
            n += px[y * w + x] < 128;
    return n;
}

int main(void)
{
    char dir[] = "/tmp/grid-figure-XXXXXX";
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    char sub[64], path[128];
    snprintf(sub, sizeof sub, "%s/figure", dir);
    snprintf(path, sizeof path, "%s/grid.png", sub);
    mkdir(sub, 0700);

    /* 2 x 3 tiles of 4 x 4, each one value: tile t is t / 7 of the way
     * from black to white (none white like the margins or mid-gray like
     * the frames). */
    enum { ROWS = 2, COLS = 3, SIDE = 4, SCALE = 5 };
    float tiles[ROWS * COLS * SIDE * SIDE];
    for (int t = 0; t < ROWS * COLS; t++)
        for (int i = 0; i < SIDE * SIDE; i++)
            tiles[t * SIDE * SIDE + i] = t / 7.0f;
    const char *rows[ROWS] = {"original", "noisy f=0.5"};
    const char *cols[COLS] = {"7", "2", "1"};
    grid_figure g = {ROWS, COLS, SIDE, SIDE, tiles, 0.0f, 1.0f, SCALE,
                     "A test grid", rows, cols, "label", NULL};
    EXPECT(grid_figure_write(path, &g) == 0, "writing a labelled grid");
    int h = 0, w = 0;
    float *px = read_back(dir, &h, &w);
    EXPECT(px != NULL, "the grid reads back as a PNG");
    if (px) {
        int x0 = 0, y0 = 0;
        /* Tile 0 (black) at the top left of the tiles; every tile one
         * pitch further, with the library's gray levels. */
        EXPECT(find_block(px, h, w, SIDE * SCALE, 0.0f, &x0, &y0),
               "tile 0 is drawn as a %d-pixel black block", SIDE * SCALE);
        int x1 = 0, y1 = 0;
        EXPECT(find_block(px, h, w, SIDE * SCALE,
                          roundf(255.0f * (1 / 7.0f)), &x1, &y1) &&
                   y1 == y0 && x1 > x0,
               "tile 1 is right of tile 0");
        int pitch = x1 - x0;
        for (int t = 2; t < ROWS * COLS; t++) {
            int r = t / COLS, c = t % COLS, x = 0, y = 0;
            float level = roundf(255.0f * (t / 7.0f));
            EXPECT(find_block(px, h, w, SIDE * SCALE, level, &x, &y) &&
                       x == x0 + c * pitch && (r == 0 ? y == y0 : y > y0),
                   "tile %d (gray %.0f) in row %d, column %d", t, level, r,
                   c);
        }
        /* Row labels left of the tiles, column labels and the title
         * above, white margins at the edges. */
        EXPECT(ink(px, w, 0, y0, x0, y0 + SIDE * SCALE) > 20,
               "the first row's label is drawn left of it");
        EXPECT(ink(px, w, x0, 0, x0 + SIDE * SCALE, y0) > 10,
               "the first column's label is drawn above it");
        EXPECT(ink(px, w, 0, 0, w, 3) == 0 && ink(px, w, 0, h - 3, w, h) == 0,
               "nothing is drawn on the top and bottom edges");
        free(px);
    }

    /* Stretched tiles (lo >= hi): each tile's own range, a constant tile
     * mid-gray; the second tile's first pixel its largest value. */
    float ramp[2 * SIDE * SIDE];
    for (int i = 0; i < SIDE * SIDE; i++) {
        ramp[i] = 3.0f;
        ramp[SIDE * SIDE + i] = -2.0f + 0.1f * (i == 0);
    }
    const char *tile_labels[2] = {"12", "345"};
    grid_figure s = {1, 2, SIDE, SIDE, ramp, 0.0f, 0.0f, SCALE, NULL, NULL,
                     NULL, NULL, tile_labels};
    EXPECT(grid_figure_write(path, &s) == 0, "writing a stretched grid");
    px = read_back(dir, &h, &w);
    if (px) {
        int x = 0, y = 0;
        EXPECT(find_block(px, h, w, SIDE * SCALE, 128.0f, &x, &y),
               "a constant tile is mid-gray");
        int found = find_block(px, h, w, 3 * SCALE, 0.0f, &x, &y);
        EXPECT(found && x >= SCALE, "the smallest value of a stretched "
               "tile is black");
        if (found && x >= SCALE) {
            EXPECT(px[y * w + x - SCALE] == 255.0f &&
                       px[(y + SCALE - 1) * w + x - 1] == 255.0f,
                   "the largest value of a stretched tile is white");
            EXPECT(ink(px, w, 0, y + SIDE * SCALE, w, h) > 10,
                   "tile labels are drawn under the tiles");
        }
        free(px);
    }

    /* Figures that cannot be drawn fail and leave no file. */
    char bad[4096];
    snprintf(bad, sizeof bad, "%s/bad.png", dir);
    tiles[7] = NAN;
    EXPECT(grid_figure_write(bad, &g) != 0, "a NaN in a tile is an error");
    tiles[7] = 0.0f;
    const char *too_wide[2] = {"a label much wider than its tile", "1"};
    s.tile_labels = too_wide;
    EXPECT(grid_figure_write(bad, &s) != 0,
           "a tile label wider than its tile is an error");
    EXPECT(access(bad, F_OK) != 0, "a failed figure leaves no file");

    remove(path);
    rmdir(sub);
    rmdir(dir);
    if (failures)
        fprintf(stderr, "%d failures\n", failures);
    else
        printf("grid_figure: all checks passed\n");
    return failures ? 1 : 0;
}
