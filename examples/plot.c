/* plot.c - the charts of plot.h, drawn by PLplot's cairo driver, each
 * twice: pngcairo for the PNG and svgcairo for its SVG twin.
 *
 * Every chart has its own PLplot stream, made and ended within the call,
 * so charts never share settings.  The page is 960 x 600 pixels on white
 * (wide enough that a legend of ten series beside the plot leaves the plot
 * most of the page),
 * axes and text black, series in the ten colours of matplotlib's "tab10"
 * palette, which stay distinguishable from each other. */
#include "plot.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <plplot.h>

enum {
    BLACK = 1,   /* cmap0 index of axes and text */
    GRID = 2,    /* light gray grid lines */
    FIRST = 3,   /* the ten series colours follow */
    N_COLOURS = 10,
    WIDTH = 960,
    HEIGHT = 600
};

/* A filled circle (U+25CF) for markers and scatter points. */
static const char DOT[] = "#[0x25cf]";

static const unsigned char palette[3 + N_COLOURS][3] = {
    {255, 255, 255}, {0, 0, 0}, {225, 225, 225},
    {31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40},
    {148, 103, 189}, {140, 86, 75}, {227, 119, 194}, {127, 127, 127},
    {188, 189, 34}, {23, 190, 207},
};

/* The stream that was current before a chart, restored afterwards. */
static PLINT saved_stream;

static int fail(const char *path, const char *why)
{
    fprintf(stderr, "plot %s: %s\n", path ? path : "(null)", why);
    return -1;
}

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), m = strlen(tail);
    return n >= m && strcmp(s + n - m, tail) == 0;
}

const char *plot_literal(const char *text, char *buf, size_t size)
{
    size_t j = 0;
    for (const char *p = text ? text : ""; *p && j + 2 < size; p++) {
        if (*p == '#')
            buf[j++] = '#';
        buf[j++] = *p;
    }
    buf[j] = '\0';
    return buf;
}

/* Start a chart on a fresh stream: device from the file name, white page.
 * PLplot exits the program when it cannot open its file, so check first
 * that the file can be written. */
static int begin(const char *path)
{
    const char *device;
    if (path == NULL || *path == '\0')
        return fail(path, "no file name");
    if (ends_with(path, ".png"))
        device = "pngcairo";
    else if (ends_with(path, ".svg"))
        device = "svgcairo";
    else
        return fail(path, "the file name must end in .png or .svg");
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return fail(path, strerror(errno));
    fclose(f);

    plgstrm(&saved_stream);
    PLINT stream;
    plmkstrm(&stream);
    plsdev(device);
    plsfnam(path);
    plspage(0.0, 0.0, WIDTH, HEIGHT, 0, 0);
    plscmap0n(16);
    for (int i = 0; i < 3 + N_COLOURS; i++)
        plscol0(i, palette[i][0], palette[i][1], palette[i][2]);
    plscolbg(255, 255, 255);
    plsfam(0, 0, 0);
    plinit();
    pladv(0);
    plschr(0.0, 1.1);
    plcol0(BLACK);
    return 0;
}

static void end(void)
{
    plend1();
    plsstrm(saved_stream);
}

/* Viewport leaving room on the right for a legend or colour bar. */
static void viewport(double right)
{
    plvpor(0.13, right, 0.12, 0.90);
}

static void title_and_labels(const char *title, const char *xlabel,
                             const char *ylabel)
{
    char buf[512];
    plcol0(BLACK);
    plschr(0.0, 1.1);
    plmtex("b", 3.0, 0.5, 0.5, plot_literal(xlabel, buf, sizeof buf));
    plmtex("l", 5.8, 0.5, 0.5, plot_literal(ylabel, buf, sizeof buf));
    /* The title centred on the page, not over a plot narrowed by its
     * legend. */
    PLFLT x0, x1, y0, y1;
    plgvpd(&x0, &x1, &y0, &y1);
    plschr(0.0, 1.4);
    plmtex("t", 1.6, (0.5 - x0) / (x1 - x0), 0.5,
           plot_literal(title, buf, sizeof buf));
    plschr(0.0, 1.1);
}

/* Light grid, then black axes with ticks and numbers. */
static void axes(const char *xopt, const char *yopt)
{
    /* Plain numbers up to 6 digits rather than a separate "x10^-2". */
    plsxax(6, 0);
    plsyax(6, 0);
    plwidth(1.0);
    plcol0(GRID);
    plbox("g", 0.0, 0, "g", 0.0, 0);
    plcol0(BLACK);
    plbox(xopt, 0.0, 0, yopt, 0.0, 0);
}

static void pad_range(double *lo, double *hi, double fraction)
{
    if (!(*hi > *lo)) {
        double d = fabs(*lo) > 0 ? fabs(*lo) * 0.1 : 1.0;
        *lo -= d;
        *hi += d;
        return;
    }
    double d = (*hi - *lo) * fraction;
    *lo -= d;
    *hi += d;
}

/* The right edge of a viewport that leaves room for a legend of these
 * entries on the page: the text's width estimated from the character
 * height (DejaVu Sans averages about 0.6 of it), plus the sample and the
 * box. */
static double right_edge_for_legend(const char *const *text, int count)
{
    PLFLT def, height, x0, x1, y0, y1;
    size_t longest = 0;
    for (int i = 0; i < count; i++)
        longest = strlen(text[i]) > longest ? strlen(text[i]) : longest;
    plschr(0.0, 1.0);
    plgchr(&def, &height);
    plgspa(&x0, &x1, &y0, &y1);
    plschr(0.0, 1.1);
    double width = (longest * 0.62 + 7.0) * height / (x1 - x0);
    return fmin(0.80, fmax(0.50, 0.97 - width));
}

/* A legend outside the plot's right edge; entries are lines and/or
 * symbols in the series colours. */
static void legend(int count, const char *const *text, int lines,
                   int symbols, const PLINT *styles)
{
    PLINT *opt = calloc((size_t)count, sizeof *opt);
    PLINT *colours = calloc((size_t)count, sizeof *colours);
    PLINT *text_colours = calloc((size_t)count, sizeof *text_colours);
    PLINT *numbers = calloc((size_t)count, sizeof *numbers);
    PLINT *line_styles = calloc((size_t)count, sizeof *line_styles);
    PLFLT *widths = calloc((size_t)count, sizeof *widths);
    PLFLT *scales = calloc((size_t)count, sizeof *scales);
    const char **syms = calloc((size_t)count, sizeof *syms);
    if (!opt || !colours || !text_colours || !numbers || !line_styles ||
        !widths || !scales || !syms)
        goto out;
    for (int i = 0; i < count; i++) {
        opt[i] = (lines ? PL_LEGEND_LINE : 0) |
                 (symbols ? PL_LEGEND_SYMBOL : 0);
        colours[i] = FIRST + i % N_COLOURS;
        text_colours[i] = BLACK;
        numbers[i] = 1;
        line_styles[i] = styles ? styles[i] : 1;
        widths[i] = 2.5;
        scales[i] = lines ? 0.8 : 1.6;
        syms[i] = DOT; /* filled circle */
    }
    PLFLT w, h;
    plschr(0.0, 1.0);
    pllegend(&w, &h, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX,
             PL_POSITION_RIGHT | PL_POSITION_OUTSIDE,
             0.03, 0.0, 0.06, 0, BLACK, 1, 0, 0, count, opt, 0.8, 1.0, 2.0,
             0.0, text_colours, text, NULL, NULL, NULL, NULL, colours,
             line_styles, widths, colours, scales, numbers, syms);
    plschr(0.0, 1.1);
out:
    free(opt);
    free(colours);
    free(text_colours);
    free(numbers);
    free(line_styles);
    free(widths);
    free(scales);
    free(syms);
}

static int lines(const char *path, const char *title, const char *xlabel,
                 const char *ylabel, const plot_series *series, size_t count)
{
    if (series == NULL || count == 0)
        return fail(path, "no series to draw");
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    size_t longest = 0;
    for (size_t s = 0; s < count; s++) {
        if (series[s].n > 0 && (series[s].x == NULL || series[s].y == NULL))
            return fail(path, "a series without data");
        longest = series[s].n > longest ? series[s].n : longest;
        for (size_t i = 0; i < series[s].n; i++) {
            double x = series[s].x[i], y = series[s].y[i];
            if (!isfinite(x) || !isfinite(y))
                continue;
            x0 = fmin(x0, x);
            x1 = fmax(x1, x);
            y0 = fmin(y0, y);
            y1 = fmax(y1, y);
        }
    }
    if (!(x0 <= x1))
        return fail(path, "no finite point to draw");
    if (x1 - x0 < 1e-12) { /* one epoch, say: centre it */
        x0 -= 1.0;
        x1 += 1.0;
    } else
        pad_range(&x0, &x1, 0.02);
    pad_range(&y0, &y1, 0.06);
    if (begin(path) != 0)
        return -1;

    const char **text = calloc(count, sizeof *text);
    PLINT *styles = calloc(count, sizeof *styles);
    char(*names)[256] = calloc(count, sizeof *names);
    if (!text || !styles || !names) {
        free(text);
        free(styles);
        free(names);
        end();
        return fail(path, "out of memory");
    }
    for (size_t s = 0; s < count; s++)
        text[s] = plot_literal(series[s].label, names[s], sizeof names[s]);
    viewport(right_edge_for_legend(text, (int)count));
    plwind(x0, x1, y0, y1);
    axes("bcnst", "bcnstv");
    for (size_t s = 0; s < count; s++) {
        const plot_series *S = &series[s];
        styles[s] = 1 + (PLINT)(s / N_COLOURS) % 8;
        plcol0(FIRST + (PLINT)(s % N_COLOURS));
        pllsty(styles[s]);
        plwidth(2.5);
        /* Draw each run of finite points; mark points when they are few. */
        size_t i = 0;
        while (i < S->n) {
            while (i < S->n && !(isfinite(S->x[i]) && isfinite(S->y[i])))
                i++;
            size_t j = i;
            while (j < S->n && isfinite(S->x[j]) && isfinite(S->y[j]))
                j++;
            if (j - i >= 2) {
                PLFLT *xs = malloc((j - i) * sizeof *xs);
                PLFLT *ys = malloc((j - i) * sizeof *ys);
                if (xs && ys) {
                    for (size_t k = i; k < j; k++) {
                        xs[k - i] = S->x[k];
                        ys[k - i] = S->y[k];
                    }
                    plline((PLINT)(j - i), xs, ys);
                }
                free(xs);
                free(ys);
            }
            if (longest <= 60 || j - i == 1) {
                plschr(0.0, 0.9);
                for (size_t k = i; k < j; k++)
                    plstring(1, &(PLFLT){S->x[k]}, &(PLFLT){S->y[k]},
                             DOT);
                plschr(0.0, 1.1);
            }
            i = j;
        }
    }
    pllsty(1);
    plwidth(1.0);
    title_and_labels(title, xlabel, ylabel);
    legend((int)count, text, 1, longest <= 60, styles);
    free(text);
    free(styles);
    free(names);
    end();
    return 0;
}

static int scatter(const char *path, const char *title, const char *xlabel,
                   const char *ylabel, const float *xy, const uint8_t *labels,
                   size_t n, const char *const *class_names, int n_classes)
{
    if (xy == NULL || labels == NULL || n == 0)
        return fail(path, "no points to draw");
    if (n_classes < 1 || n_classes > 256)
        return fail(path, "the number of classes must be 1 to 256");
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(xy[2 * i]) || !isfinite(xy[2 * i + 1]))
            continue;
        x0 = fmin(x0, xy[2 * i]);
        x1 = fmax(x1, xy[2 * i]);
        y0 = fmin(y0, xy[2 * i + 1]);
        y1 = fmax(y1, xy[2 * i + 1]);
    }
    if (!(x0 <= x1))
        return fail(path, "no finite point to draw");
    pad_range(&x0, &x1, 0.04);
    pad_range(&y0, &y1, 0.04);
    if (begin(path) != 0)
        return -1;
    char(*names)[64] = calloc((size_t)n_classes, sizeof *names);
    const char **text = calloc((size_t)n_classes, sizeof *text);
    if (names == NULL || text == NULL) {
        free(names);
        free(text);
        end();
        return fail(path, "out of memory");
    }
    for (int c = 0; c < n_classes; c++) {
        if (class_names && class_names[c])
            plot_literal(class_names[c], names[c], sizeof names[c]);
        else
            snprintf(names[c], sizeof names[c], "%d", c);
        text[c] = names[c];
    }
    viewport(right_edge_for_legend(text, n_classes));
    plwind(x0, x1, y0, y1);
    axes("bcnst", "bcnstv");
    /* In the data's order, so no class hides all the others. */
    plschr(0.0, n > 2000 ? 0.55 : 0.75);
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(xy[2 * i]) || !isfinite(xy[2 * i + 1]))
            continue;
        plcol0(FIRST + labels[i] % N_COLOURS);
        plstring(1, &(PLFLT){xy[2 * i]}, &(PLFLT){xy[2 * i + 1]}, DOT);
    }
    plschr(0.0, 1.1);
    title_and_labels(title, xlabel, ylabel);

    legend(n_classes, text, 0, 1, NULL);
    free(names);
    free(text);
    end();
    return 0;
}

/* A sequential colour map (dark blue - teal - yellow, like viridis) for
 * data of one sign, a diverging one (blue - white - red) for data around
 * zero such as correlations. */
static void colour_map(int diverging)
{
    if (diverging) {
        PLFLT pos[] = {0.0, 0.5, 1.0};
        PLFLT r[] = {0.02, 0.97, 0.70}, g[] = {0.19, 0.97, 0.01},
              b[] = {0.38, 0.97, 0.15};
        plscmap1l(1, 3, pos, r, g, b, NULL);
    } else {
        PLFLT pos[] = {0.0, 0.25, 0.5, 0.75, 1.0};
        PLFLT r[] = {0.267, 0.231, 0.129, 0.369, 0.993},
              g[] = {0.005, 0.322, 0.569, 0.788, 0.906},
              b[] = {0.329, 0.546, 0.553, 0.384, 0.144};
        plscmap1l(1, 5, pos, r, g, b, NULL);
    }
    plscmap1n(256);
}

static int heatmap(const char *path, const char *title, const char *xlabel,
                   const char *ylabel, const float *matrix, int rows,
                   int cols, float lo, float hi)
{
    if (matrix == NULL || rows < 1 || cols < 1)
        return fail(path, "no matrix to draw");
    if (!isfinite(lo) || !isfinite(hi) || !(lo < hi))
        return fail(path, "the colour scale needs finite lo < hi");
    PLFLT **z = NULL;
    plAlloc2dGrid(&z, cols, rows);
    if (z == NULL)
        return fail(path, "out of memory");
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            float v = matrix[(size_t)r * cols + c];
            z[c][r] = isfinite(v) ? fmin(fmax(v, lo), hi) : lo;
        }
    if (begin(path) != 0) {
        plFree2dGrid(z, cols, rows);
        return -1;
    }
    colour_map(lo < 0 && hi > 0);
    /* Square cells, as large as fit in 60% x 78% of the page; row 0 at
     * the top, as a matrix is read. */
    double cell = fmin(0.60 * WIDTH / cols, 0.78 * HEIGHT / rows);
    double vw = cols * cell / WIDTH, vh = rows * cell / HEIGHT;
    double left = 0.13 + (0.60 - vw) / 2, bottom = 0.12 + (0.78 - vh) / 2;
    plvpor(left, left + vw, bottom, bottom + vh);
    plwind(-0.5, cols - 0.5, rows - 0.5, -0.5);
    /* plimage would scale colours to the data's own range; plimagefr
     * keeps lo..hi, so the colour bar tells the truth. */
    plimagefr((PLFLT_MATRIX)z, cols, rows, -0.5, cols - 0.5, -0.5,
              rows - 0.5, lo, hi, lo, hi, NULL, NULL);
    plcol0(BLACK);
    plbox("bcnst", 0.0, 0, "bcnstv", 0.0, 0);
    title_and_labels(title, xlabel, ylabel);

    enum { STEPS = 64 };
    PLFLT values[STEPS];
    for (int i = 0; i < STEPS; i++)
        values[i] = lo + (hi - lo) * i / (STEPS - 1);
    const PLFLT *value_list[] = {values};
    PLINT n_values[] = {STEPS}, sub_ticks[] = {0};
    PLFLT ticks[] = {0.0};
    const char *axis_opts[] = {"bcvtm"};
    PLFLT w, h;
    plschr(0.0, 1.0);
    /* Lengths are in viewport units: a bar 3.5% of the page wide, as tall
     * as the map. */
    plcolorbar(&w, &h, PL_COLORBAR_IMAGE, PL_POSITION_RIGHT,
               0.04 / vw, 0.0, 0.035 / vw, 1.0, 0, BLACK, 1,
               0.0, 0.0, 0, 0.0, 0, NULL, NULL, 1, axis_opts, ticks,
               sub_ticks, n_values, value_list);
    end();
    plFree2dGrid(z, cols, rows);
    return 0;
}

/* Bars from zero, with each bar's name under it when names is given. */
static int bars(const char *path, const char *title, const char *xlabel,
                const char *ylabel, const float *values,
                const char *const *names, size_t n)
{
    if (values == NULL || n == 0)
        return fail(path, "no values to draw");
    double y0 = 0, y1 = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(values[i])) {
            y0 = fmin(y0, values[i]);
            y1 = fmax(y1, values[i]);
        }
    if (y1 > y0) {
        /* Bars grow from zero: pad only away from it. */
        double d = (y1 - y0) * 0.05;
        y1 = y1 > 0 ? y1 + d : y1;
        y0 = y0 < 0 ? y0 - d : y0;
    } else {
        y1 = 1;
    }
    if (begin(path) != 0)
        return -1;
    viewport(0.95);
    plwind(-0.5, n - 0.5, y0, y1);
    /* A tick (and number) under every bar when there are few. */
    double xtick = n <= 20 && names == NULL ? 1.0 : 0.0;
    plsxax(6, 0);
    plsyax(6, 0);
    plcol0(GRID);
    plbox(names ? "" : "g", xtick, 0, "g", 0.0, 0);
    plcol0(BLACK);
    plbox(names ? "bc" : "bcnst", xtick, 0, "bcnstv", 0.0, 0);
    plcol0(FIRST);
    double half = n > 200 ? 0.5 : 0.4;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(values[i]) || values[i] == 0)
            continue;
        PLFLT x[] = {i - half, i + half, i + half, i - half};
        PLFLT y[] = {0, 0, values[i], values[i]};
        plfill(4, x, y);
        if (n <= 100) {
            plcol0(BLACK);
            plline(4, x, y);
            plcol0(FIRST);
        }
    }
    plcol0(BLACK);
    plwidth(1.0);
    plbox("bc", 0.0, 0, "bc", 0.0, 0);
    if (y0 < 0)
        pljoin(-0.5, 0.0, n - 0.5, 0.0);
    if (names != NULL) {
        char buf[256];
        plschr(0.0, n > 8 ? 0.8 : 1.0);
        for (size_t i = 0; i < n; i++)
            plmtex("b", 1.4, (i + 0.5) / n, 0.5,
                   plot_literal(names[i], buf, sizeof buf));
        plschr(0.0, 1.1);
    }
    title_and_labels(title, xlabel, ylabel);
    end();
    return 0;
}

/* The SVG twin of a chart's PNG: path with .png replaced by .svg, into
 * buf; 0 if path does not end in .png (an .svg is drawn once). */
static int svg_twin(const char *path, char *buf, size_t size)
{
    size_t n = path ? strlen(path) : 0;
    if (!ends_with(path ? path : "", ".png") || n + 1 > size)
        return 0;
    memcpy(buf, path, n - 4);
    memcpy(buf + n - 4, ".svg", 5);
    return 1;
}

int plot_lines(const char *path, const char *title, const char *xlabel,
               const char *ylabel, const plot_series *series, size_t count)
{
    char svg[4096];
    if (lines(path, title, xlabel, ylabel, series, count) != 0)
        return -1;
    return svg_twin(path, svg, sizeof svg)
               ? lines(svg, title, xlabel, ylabel, series, count)
               : 0;
}

int plot_scatter(const char *path, const char *title, const char *xlabel,
                 const char *ylabel, const float *xy, const uint8_t *labels,
                 size_t n, const char *const *class_names, int n_classes)
{
    char svg[4096];
    if (scatter(path, title, xlabel, ylabel, xy, labels, n, class_names,
                n_classes) != 0)
        return -1;
    return svg_twin(path, svg, sizeof svg)
               ? scatter(svg, title, xlabel, ylabel, xy, labels, n,
                         class_names, n_classes)
               : 0;
}

int plot_heatmap(const char *path, const char *title, const char *xlabel,
                 const char *ylabel, const float *matrix, int rows, int cols,
                 float lo, float hi)
{
    char svg[4096];
    if (heatmap(path, title, xlabel, ylabel, matrix, rows, cols, lo, hi) != 0)
        return -1;
    return svg_twin(path, svg, sizeof svg)
               ? heatmap(svg, title, xlabel, ylabel, matrix, rows, cols, lo,
                         hi)
               : 0;
}

int plot_bars(const char *path, const char *title, const char *xlabel,
              const char *ylabel, const float *values, size_t n)
{
    char svg[4096];
    if (bars(path, title, xlabel, ylabel, values, NULL, n) != 0)
        return -1;
    return svg_twin(path, svg, sizeof svg)
               ? bars(svg, title, xlabel, ylabel, values, NULL, n)
               : 0;
}

int plot_bars_named(const char *path, const char *title, const char *xlabel,
                    const char *ylabel, const float *values,
                    const char *const *names, size_t n)
{
    char svg[4096];
    if (names == NULL)
        return fail(path, "no bar names");
    if (bars(path, title, xlabel, ylabel, values, names, n) != 0)
        return -1;
    return svg_twin(path, svg, sizeof svg)
               ? bars(svg, title, xlabel, ylabel, values, names, n)
               : 0;
}
