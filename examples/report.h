/* report.h - each experiment program writes its part of the report: an
 * HTML fragment (out_dir/section.html: text, tables, figures) and its
 * numbers (out_dir/results.json).  make_report gathers the parts into one
 * self-contained report/index.html and report/results.json. */
#ifndef EXAMPLES_REPORT_H
#define EXAMPLES_REPORT_H

#include "common.h"

typedef struct report report;

/* Start experiment `number`'s part, titled `title`, in opt->out_dir. */
report *report_open(const options *opt, int number, const char *title);
/* A paragraph (printf-style; text is HTML-escaped). */
void report_text(report *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A figure: an image file in out_dir and a sentence saying what it shows;
 * if a file of the same name ending in .svg lies beside a .png (a chart's
 * SVG twin), the caption links it. */
void report_figure(report *r, const char *file, const char *caption);
/* A table with a caption and ncols column headers, then rows of cells. */
void report_table(report *r, const char *caption, int ncols,
                  const char *const *headers);
void report_row(report *r, const char *const *cells);
/* A number for results.json (key unique within the experiment). */
void report_value(report *r, const char *key, double value);
/* Finish and write both files; exits with a message if writing fails. */
void report_close(report *r);

#endif
