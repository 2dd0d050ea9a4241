/* report.c - an experiment's part of the report: section.html (an HTML
 * fragment) and results.json, both written by report_close. */
#include "report.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct report {
    const options *opt;
    int number;
    char *title;
    FILE *html;        /* the fragment, in memory until report_close */
    char *html_text;
    size_t html_size;
    FILE *values;      /* "key": number pairs, in memory */
    char *values_text;
    size_t values_size;
    int n_values;
    int in_table;      /* a table is open, waiting for rows */
    int table_cols;
};

static void out_of_memory(void)
{
    fprintf(stderr, "report: out of memory\n");
    exit(1);
}

static void escape(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void end_table(report *r)
{
    if (r->in_table)
        fputs("</tbody></table>\n", r->html);
    r->in_table = 0;
}

report *report_open(const options *opt, int number, const char *title)
{
    report *r = calloc(1, sizeof *r);
    if (r == NULL || (r->title = strdup(title ? title : "")) == NULL)
        out_of_memory();
    r->opt = opt;
    r->number = number;
    r->html = open_memstream(&r->html_text, &r->html_size);
    r->values = open_memstream(&r->values_text, &r->values_size);
    if (r->html == NULL || r->values == NULL)
        out_of_memory();
    fprintf(r->html, "<section id=\"exp%d\">\n<h2>Experiment %d: ", number,
            number);
    escape(r->html, r->title);
    fputs("</h2>\n", r->html);
    fprintf(r->html, "<p class=\"run\">Data: %s", opt->data_name);
    if (opt->quick)
        fputs(" &mdash; quick mode: a small subset and one epoch, a smoke "
              "test whose numbers mean little", r->html);
    fputs(".</p>\n", r->html);
    return r;
}

void report_text(report *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *text = n < 0 ? NULL : malloc((size_t)n + 1);
    if (text == NULL)
        out_of_memory();
    va_start(ap, fmt);
    vsnprintf(text, (size_t)n + 1, fmt, ap);
    va_end(ap);
    end_table(r);
    fputs("<p>", r->html);
    escape(r->html, text);
    fputs("</p>\n", r->html);
    free(text);
}

void report_figure(report *r, const char *file, const char *caption)
{
    end_table(r);
    if (access(out_path(r->opt, file), R_OK) != 0)
        fprintf(stderr, "report: figure %s is missing\n",
                out_path(r->opt, file));
    fputs("<figure><img src=\"", r->html);
    escape(r->html, file);
    fputs("\" alt=\"", r->html);
    escape(r->html, caption);
    fputs("\"><figcaption>", r->html);
    escape(r->html, caption);
    /* A chart's SVG twin (plot.h), where there is one: linked, since the
     * page shows the PNG. */
    size_t n = strlen(file);
    if (n > 4 && strcmp(file + n - 4, ".png") == 0) {
        const char *svg = cell("%.*s.svg", (int)(n - 4), file);
        if (access(out_path(r->opt, svg), R_OK) == 0) {
            fputs(" <a href=\"", r->html);
            escape(r->html, svg);
            fputs("\" class=\"svg\">(SVG)</a>", r->html);
        }
    }
    fputs("</figcaption></figure>\n", r->html);
}

void report_table(report *r, const char *caption, int ncols,
                  const char *const *headers)
{
    end_table(r);
    fputs("<table>\n<caption>", r->html);
    escape(r->html, caption);
    fputs("</caption>\n<thead><tr>", r->html);
    for (int i = 0; i < ncols; i++) {
        fputs("<th>", r->html);
        escape(r->html, headers[i]);
        fputs("</th>", r->html);
    }
    fputs("</tr></thead>\n<tbody>\n", r->html);
    r->in_table = 1;
    r->table_cols = ncols;
}

void report_row(report *r, const char *const *cells)
{
    if (!r->in_table) {
        fprintf(stderr, "report: a row outside a table\n");
        exit(1);
    }
    fputs("<tr>", r->html);
    for (int i = 0; i < r->table_cols; i++) {
        fputs("<td>", r->html);
        escape(r->html, cells[i]);
        fputs("</td>", r->html);
    }
    fputs("</tr>\n", r->html);
}

void report_value(report *r, const char *key, double value)
{
    fputs(r->n_values++ ? ",\n    " : "\n    ", r->values);
    json_string(r->values, key);
    if (isfinite(value))
        fprintf(r->values, ": %.6g", value);
    else
        fputs(": null", r->values);
}

/* Write text to out_dir/name, or exit saying why. */
static void write_file(const report *r, const char *name, const char *text,
                       size_t size)
{
    const char *path = out_path(r->opt, name);
    FILE *f = fopen(path, "w");
    if (f == NULL || fwrite(text, 1, size, f) != size || fclose(f) != 0) {
        fprintf(stderr, "report: cannot write %s\n", path);
        exit(1);
    }
}

void report_close(report *r)
{
    end_table(r);
    fputs("</section>\n", r->html);
    if (fclose(r->html) != 0 || fclose(r->values) != 0)
        out_of_memory();
    write_file(r, "section.html", r->html_text, r->html_size);

    char *json = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&json, &size);
    if (f == NULL)
        out_of_memory();
    fprintf(f, "{\"experiment\": %d, \"title\": ", r->number);
    json_string(f, r->title);
    fputs(", \"data\": ", f);
    json_string(f, r->opt->data_name);
    fprintf(f, ", \"quick\": %s,\n  \"values\": {%s%s}}\n",
            r->opt->quick ? "true" : "false",
            r->values_text ? r->values_text : "", r->n_values ? "\n  " : "");
    if (fclose(f) != 0)
        out_of_memory();
    write_file(r, "results.json", json, size);
    free(json);
    free(r->html_text);
    free(r->values_text);
    free(r->title);
    free(r);
}
