/* plot.h - charts for the experiment programs, drawn by PLplot's cairo
 * driver.  A chart named NAME.png is written twice: as that PNG (which the
 * report shows) and as NAME.svg beside it (which the report links, and
 * which scales without blurring); a name ending in .svg gives the SVG
 * alone.  Each function returns 0, or -1 after printing why on stderr. */
#ifndef EXAMPLES_PLOT_H
#define EXAMPLES_PLOT_H

#include <stddef.h>
#include <stdint.h>

/* One line of a line chart. */
typedef struct plot_series {
    const char *label; /* legend entry */
    const double *x, *y;
    size_t n;
} plot_series;

/* Line chart of several series with a legend (loss curves, PSNR per
 * epoch). */
int plot_lines(const char *path, const char *title, const char *xlabel,
               const char *ylabel, const plot_series *series, size_t count);

/* Scatter plot of n points (xy holds x0 y0 x1 y1 ...) coloured by label,
 * with a legend naming each label (class_names may be NULL: "0".."9"). */
int plot_scatter(const char *path, const char *title, const char *xlabel,
                 const char *ylabel, const float *xy, const uint8_t *labels,
                 size_t n, const char *const *class_names, int n_classes);

/* Heat map of a rows x cols matrix (row-major) on a colour scale from lo
 * to hi, with a colour bar. */
int plot_heatmap(const char *path, const char *title, const char *xlabel,
                 const char *ylabel, const float *matrix, int rows, int cols,
                 float lo, float hi);

/* Bar chart of n values (bar i labelled i), e.g. per-unit activations. */
int plot_bars(const char *path, const char *title, const char *xlabel,
              const char *ylabel, const float *values, size_t n);

/* The same with names[i] under bar i instead of numbers (a few bars:
 * models, lambdas). */
int plot_bars_named(const char *path, const char *title, const char *xlabel,
                    const char *ylabel, const float *values,
                    const char *const *names, size_t n);

/* text as PLplot must be given it to print it as it is: '#' starts an
 * escape sequence there, so it is doubled.  Returns buf (size bytes). */
const char *plot_literal(const char *text, char *buf, size_t size);

#endif
