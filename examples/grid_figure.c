/* grid_figure.c - the labelled picture grids of grid_figure.h.
 *
 * Two passes of PLplot's memcairo device, which draws into a buffer of
 * ours: the first draws every label alone in a band of a scratch picture
 * and finds its ink, so the layout knows each label's exact extent around
 * the point it is drawn from (PLplot has no public call that measures
 * text); the second draws them all where the layout puts them.  Then the
 * tiles are copied in, and the picture is written as 8-bit gray.
 *
 * Layout, left to right: margin, row labels (right-aligned), gap, tiles;
 * top to bottom: margin, title (centred), column labels (bottom-aligned),
 * gap, rows of tiles, each with its band of tile labels below it.  Tiles
 * sit in a mid-gray frame one pixel wide on white, SPACING apart. */
#include "grid_figure.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <autoenc.h>
#include <plplot.h>

#include "plot.h"

enum {
    MARGIN = 10,      /* white around everything */
    LABEL_GAP = 7,    /* between labels and the tiles they name */
    TITLE_GAP = 10,   /* under the title */
    FRAME = 1,        /* mid-gray frame of each tile */
    SPACING = 4,      /* white between framed tiles */
    TILE_LABEL_GAP = 2,
    MAX_SIDE = 4096   /* ae_image_write_png's limit */
};

/* Text heights in pixels (PLplot's character height: about that of a
 * capital letter). */
static const double TITLE_SIZE = 13.0, LABEL_SIZE = 10.5, SMALL_SIZE = 8.5;

/* The ink of one label relative to the point it is drawn from: columns
 * x0 .. x1 - 1 and rows y0 .. y1 - 1 (empty: nothing drawn, all zero). */
typedef struct ink {
    int x0, y0, x1, y1, empty;
} ink;

static int width_of(const ink *k) { return k->x1 - k->x0; }
static int height_of(const ink *k) { return k->y1 - k->y0; }

/* A label to draw: its text, size, direction and the point it is drawn
 * from (pixels from the top left). */
typedef struct label {
    const char *text;
    double size;
    int upright; /* reads upwards, rotated by 90 degrees */
    ink ink;
    int x, y;
} label;

static int fail(const char *path, const char *why)
{
    fprintf(stderr, "grid %s: %s\n", path ? path : "(null)", why);
    return -1;
}

/* An RGBA picture of width x height, white. */
static unsigned char *white_canvas(int width, int height)
{
    size_t n = (size_t)width * height * 4;
    unsigned char *p = malloc(n);
    if (p)
        memset(p, 255, n);
    return p;
}

/* Draw the labels onto the RGBA canvas (width x height) with memcairo, in
 * coordinates of pixels from its top left.  The stream that was current
 * before is current again afterwards. */
static void draw_labels(unsigned char *canvas, int width, int height,
                        const label *labels, int n)
{
    PLINT saved, stream;
    plgstrm(&saved);
    plmkstrm(&stream);
    plsdev("memcairo");
    plsmema(width, height, canvas);
    plscmap0n(2);
    plscol0(0, 255, 255, 255);
    plscol0(1, 0, 0, 0);
    plinit();
    pladv(0);
    plvpor(0.0, 1.0, 0.0, 1.0);
    plwind(0.0, width, height, 0.0); /* y grows downwards, as in the PNG */
    PLFLT x0, x1, y0, y1;
    plgspa(&x0, &x1, &y0, &y1);
    double pixels_per_mm = width / (x1 - x0);
    plcol0(1);
    char buf[1024];
    for (int i = 0; i < n; i++) {
        if (labels[i].text == NULL || labels[i].text[0] == '\0')
            continue;
        plot_literal(labels[i].text, buf, sizeof buf);
        plschr(labels[i].size / pixels_per_mm, 1.0);
        /* Direction in world coordinates, whose y points down. */
        plptex(labels[i].x, labels[i].y, labels[i].upright ? 0.0 : 1.0,
               labels[i].upright ? -1.0 : 0.0, 0.0, buf);
    }
    plend1();
    plsstrm(saved);
}

/* The ink of each label: each is drawn alone in a band of a scratch
 * canvas (a row of the canvas, or a column for upright labels) and its
 * non-white pixels found.  -1 if a label runs out of its band. */
static int measure(const char *path, label *labels, int n)
{
    int any = 0;
    for (int i = 0; i < n; i++) {
        labels[i].ink = (ink){0, 0, 0, 0, 1};
        any |= labels[i].text && labels[i].text[0];
    }
    if (!any)
        return 0; /* no need to start PLplot for nothing */
    size_t longest = 0;
    double size = 0;
    for (int i = 0; i < n; i++) {
        size_t len = labels[i].text ? strlen(labels[i].text) : 0;
        longest = len > longest ? len : longest;
        size = labels[i].size > size ? labels[i].size : size;
    }
    /* A band is four text heights across; along the text, room for every
     * byte to be a wide letter. */
    int band = (int)(4 * size) + 8, pad = (int)size + 8;
    int along = 2 * pad + (int)(longest * 1.3 * size);
    int width = labels[0].upright ? band * n : along;
    int height = labels[0].upright ? along : band * n;
    unsigned char *canvas = white_canvas(width, height);
    label *at = calloc((size_t)n, sizeof *at);
    if (canvas == NULL || at == NULL) {
        free(canvas);
        free(at);
        return fail(path, "out of memory measuring the labels");
    }
    for (int i = 0; i < n; i++) {
        at[i] = labels[i];
        at[i].x = labels[i].upright ? i * band + band / 2 : pad;
        at[i].y = labels[i].upright ? along - pad : i * band + band / 2;
    }
    draw_labels(canvas, width, height, at, n);
    int status = 0;
    for (int i = 0; i < n && status == 0; i++) {
        int bx0 = labels[i].upright ? i * band : 0;
        int by0 = labels[i].upright ? 0 : i * band;
        int bx1 = labels[i].upright ? bx0 + band : width;
        int by1 = labels[i].upright ? height : by0 + band;
        int x0 = bx1, y0 = by1, x1 = bx0, y1 = by0;
        for (int y = by0; y < by1; y++)
            for (int x = bx0; x < bx1; x++)
                if (canvas[((size_t)y * width + x) * 4] != 255) {
                    x0 = x < x0 ? x : x0;
                    y0 = y < y0 ? y : y0;
                    x1 = x + 1 > x1 ? x + 1 : x1;
                    y1 = y + 1 > y1 ? y + 1 : y1;
                }
        ink *k = &labels[i].ink;
        if (x1 <= x0) {
            *k = (ink){0, 0, 0, 0, 1};
            continue;
        }
        if (x0 == bx0 || y0 == by0 || x1 == bx1 || y1 == by1) {
            fprintf(stderr, "grid %s: the label \"%s\" does not fit in its "
                    "measuring band\n", path, labels[i].text);
            status = -1;
        }
        *k = (ink){x0 - at[i].x, y0 - at[i].y, x1 - at[i].x, y1 - at[i].y,
                   0};
    }
    free(at);
    free(canvas);
    return status;
}

/* Labels of one kind, from n texts (NULL: none at all). */
static label *make_labels(const char *const *texts, int n, double size,
                          int upright)
{
    label *l = calloc((size_t)(n > 0 ? n : 1), sizeof *l);
    for (int i = 0; l && i < n; i++)
        l[i] = (label){texts ? texts[i] : NULL, size, upright, {0}, 0, 0};
    return l;
}

static int widest(const label *l, int n)
{
    int m = 0;
    for (int i = 0; i < n; i++)
        m = width_of(&l[i].ink) > m ? width_of(&l[i].ink) : m;
    return m;
}

static int tallest(const label *l, int n)
{
    int m = 0;
    for (int i = 0; i < n; i++)
        m = height_of(&l[i].ink) > m ? height_of(&l[i].ink) : m;
    return m;
}

/* Place label l so that its ink's left edge is at x (or its centre, or its
 * right edge: align 0, 1, 2) and its top at y (or its middle, or its
 * bottom: valign 0, 1, 2). */
static void place(label *l, int x, int align, int y, int valign)
{
    int w = width_of(&l->ink), h = height_of(&l->ink);
    int left = align == 0 ? x : align == 1 ? x - w / 2 : x - w;
    int top = valign == 0 ? y : valign == 1 ? y - h / 2 : y - h;
    l->x = left - l->ink.x0;
    l->y = top - l->ink.y0;
}

/* The gray level 0..255 of v, as ae_image_grid_write_png draws it. */
static float gray(float v, float lo, float hi)
{
    if (!(lo < hi))
        return 128.0f; /* a constant tile */
    float g = roundf(255.0f * (v - lo) / (hi - lo));
    return g < 0 ? 0 : g > 255 ? 255 : g;
}

/* Whether the canvas is still white inside the rectangle: no label ran
 * into a tile or off the picture. */
static int blank(const unsigned char *canvas, int width, int x0, int y0,
                 int x1, int y1)
{
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++)
            if (canvas[((size_t)y * width + x) * 4] != 255)
                return 0;
    return 1;
}

int grid_figure_write(const char *path, const grid_figure *g)
{
    if (path == NULL || g == NULL || g->tiles == NULL)
        return fail(path, "no figure to draw");
    if (g->rows < 1 || g->cols < 1 || g->h < 1 || g->w < 1 ||
        g->scale < 1 || g->scale > 16)
        return fail(path, "rows, columns, tile size and scale must be "
                          "positive (scale at most 16)");
    const size_t tile = (size_t)g->h * g->w, count = (size_t)g->rows * g->cols;
    for (size_t i = 0; i < count * tile; i++)
        if (!isfinite(g->tiles[i])) {
            char why[128];
            snprintf(why, sizeof why, "tile %zu (row %zu, column %zu) holds "
                     "a NaN or an infinity", i / tile, i / tile / g->cols,
                     i / tile % g->cols);
            return fail(path, why);
        }

    /* Every label, measured as drawn. */
    label *title = make_labels(&g->title, 1, TITLE_SIZE, 0);
    label *heading = make_labels(&g->col_heading, 1, LABEL_SIZE, 0);
    label *rows = make_labels(g->row_labels, g->rows, LABEL_SIZE, 0);
    label *cols = make_labels(g->col_labels, g->cols, LABEL_SIZE, 0);
    label *tiles = make_labels(g->tile_labels, (int)count, SMALL_SIZE, 0);
    label *all = calloc(count + g->rows + g->cols + 2, sizeof *all);
    unsigned char *canvas = NULL;
    float *picture = NULL;
    int status = -1;
    if (!title || !heading || !rows || !cols || !tiles || !all) {
        fail(path, "out of memory");
        goto out;
    }
    if (measure(path, title, 1) || measure(path, heading, 1) ||
        measure(path, rows, g->rows) || measure(path, cols, g->cols) ||
        measure(path, tiles, (int)count))
        goto out;

    const int cell_w = g->w * g->scale + 2 * FRAME;
    const int cell_h = g->h * g->scale + 2 * FRAME;
    /* Column labels wider than their column are drawn upright. */
    if (widest(cols, g->cols) > cell_w + SPACING - 3) {
        free(cols);
        cols = make_labels(g->col_labels, g->cols, LABEL_SIZE, 1);
        if (cols == NULL || measure(path, cols, g->cols))
            goto out;
        if (widest(cols, g->cols) > cell_w + SPACING - 3) {
            fail(path, "the column labels are too large for the columns");
            goto out;
        }
    }
    if (widest(tiles, (int)count) > cell_w + SPACING - 3) {
        fail(path, "a tile label is wider than its tile");
        goto out;
    }
    const int tile_band = g->tile_labels
                              ? TILE_LABEL_GAP + tallest(tiles, (int)count)
                              : 0;
    const int pitch_x = cell_w + SPACING;
    const int pitch_y = cell_h + tile_band + SPACING;
    if (tallest(rows, g->rows) > pitch_y - 3) {
        fail(path, "the row labels are taller than the rows");
        goto out;
    }

    /* The left column holds the row labels and the heading; the band above
     * the tiles the column labels and the heading. */
    int left = widest(rows, g->rows);
    left = widest(heading, 1) > left ? widest(heading, 1) : left;
    int band = tallest(cols, g->cols);
    band = tallest(heading, 1) > band ? tallest(heading, 1) : band;
    const int grid_w = g->cols * pitch_x - SPACING;
    const int grid_h = g->rows * pitch_y - SPACING;
    int content_w = (left ? left + LABEL_GAP : 0) + grid_w;
    int width = MARGIN + content_w + MARGIN;
    if (width_of(&title->ink) + 2 * MARGIN > width)
        width = width_of(&title->ink) + 2 * MARGIN;
    const int title_h = title->ink.empty ? 0 : height_of(&title->ink) +
                                                   TITLE_GAP;
    const int gx = (width - content_w) / 2 + (left ? left + LABEL_GAP : 0);
    const int gy = MARGIN + title_h + (band ? band + LABEL_GAP : 0);
    const int height = gy + grid_h + MARGIN;
    if (width > MAX_SIDE || height > MAX_SIDE) {
        fail(path, "the picture would be larger than 4096 pixels a side");
        goto out;
    }

    /* Where each label goes. */
    int n = 0;
    if (!title->ink.empty) {
        place(title, width / 2, 1, MARGIN, 0);
        all[n++] = *title;
    }
    if (!heading->ink.empty) {
        place(heading, gx - LABEL_GAP, 2, gy - LABEL_GAP, 2);
        all[n++] = *heading;
    }
    for (int c = 0; c < g->cols; c++)
        if (!cols[c].ink.empty) {
            place(&cols[c], gx + c * pitch_x + cell_w / 2, 1, gy - LABEL_GAP,
                  2);
            all[n++] = cols[c];
        }
    for (int r = 0; r < g->rows; r++)
        if (!rows[r].ink.empty) {
            place(&rows[r], gx - LABEL_GAP, 2, gy + r * pitch_y + cell_h / 2,
                  1);
            all[n++] = rows[r];
        }
    for (size_t t = 0; t < count; t++)
        if (!tiles[t].ink.empty) {
            int r = (int)(t / g->cols), c = (int)(t % g->cols);
            place(&tiles[t], gx + c * pitch_x + cell_w / 2, 1,
                  gy + r * pitch_y + cell_h + TILE_LABEL_GAP, 0);
            all[n++] = tiles[t];
        }

    canvas = white_canvas(width, height);
    picture = malloc((size_t)width * height * sizeof *picture);
    if (canvas == NULL || picture == NULL) {
        fail(path, "out of memory");
        goto out;
    }
    draw_labels(canvas, width, height, all, n);
    /* The measured layout keeps labels off the tiles and the edges; check
     * that the drawing did too. */
    int clean = blank(canvas, width, 0, 0, width, 1) &&
                blank(canvas, width, 0, height - 1, width, height) &&
                blank(canvas, width, 0, 0, 1, height) &&
                blank(canvas, width, width - 1, 0, width, height);
    for (int r = 0; r < g->rows && clean; r++)
        for (int c = 0; c < g->cols && clean; c++)
            clean = blank(canvas, width, gx + c * pitch_x,
                          gy + r * pitch_y, gx + c * pitch_x + cell_w,
                          gy + r * pitch_y + cell_h);
    if (!clean) {
        fail(path, "a label was drawn over a tile or off the picture");
        goto out;
    }

    for (size_t i = 0; i < (size_t)width * height; i++)
        picture[i] = canvas[i * 4]; /* the text is black on white: gray */
    for (size_t t = 0; t < count; t++) {
        const float *v = g->tiles + t * tile;
        float lo = g->lo, hi = g->hi;
        if (!(lo < hi)) {
            lo = hi = v[0];
            for (size_t i = 1; i < tile; i++) {
                lo = v[i] < lo ? v[i] : lo;
                hi = v[i] > hi ? v[i] : hi;
            }
        }
        int x0 = gx + (int)(t % g->cols) * pitch_x;
        int y0 = gy + (int)(t / g->cols) * pitch_y;
        for (int y = 0; y < cell_h; y++)
            for (int x = 0; x < cell_w; x++) {
                int ty = (y - FRAME) / g->scale, tx = (x - FRAME) / g->scale;
                int frame = y < FRAME || x < FRAME || y >= cell_h - FRAME ||
                            x >= cell_w - FRAME;
                picture[(size_t)(y0 + y) * width + x0 + x] =
                    frame ? 128.0f
                          : gray(v[(size_t)ty * g->w + tx], lo, hi);
            }
    }
    ae_status s = ae_image_write_png(path, picture, 1, height, width, 0.0f,
                                     255.0f);
    if (s != AE_OK) {
        fprintf(stderr, "grid %s: %s (%s)\n", path, ae_status_message(s),
                ae_last_error());
        goto out;
    }
    status = 0;
out:
    free(picture);
    free(canvas);
    free(all);
    free(tiles);
    free(cols);
    free(rows);
    free(heading);
    free(title);
    return status;
}
