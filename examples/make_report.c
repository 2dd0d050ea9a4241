/* make_report - gather the experiments' parts into one report.
 *
 *   make_report REPORT_DIR [--data-name NAME]
 *
 * Reads REPORT_DIR/<experiment>/section.html in sorted folder order and
 * writes REPORT_DIR/index.html: one self-contained page (every <img> inlined
 * as a base64 data URI) with a header naming the data set and the date, a
 * table of contents and every section.  Links to an experiment's files
 * (the charts' SVG versions) are pointed at <experiment>/FILE, so they work
 * from index.html while the folders stay beside it.  Also writes
 * REPORT_DIR/results.json, the JSON array of the experiments' results.json
 * files.  The data set's name comes from --data-name, else from the first
 * results.json.  Exits with 1 if an image or a linked file is missing (the
 * page is still written, showing it broken) or there is no section at all. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

typedef struct text {
    char *data;
    size_t size;
} text;

static int problems;

static void die(const char *what, const char *path)
{
    fprintf(stderr, "make_report: %s %s\n", what, path);
    exit(1);
}

/* Whole file into memory (NUL-terminated); data NULL if unreadable. */
static text slurp(const char *path)
{
    text t = {NULL, 0};
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return t;
    size_t cap = 1 << 16;
    t.data = malloc(cap);
    size_t n;
    while (t.data && (n = fread(t.data + t.size, 1, cap - t.size - 1, f)) > 0) {
        t.size += n;
        if (cap - t.size < 2) {
            char *bigger = realloc(t.data, cap *= 2);
            if (bigger == NULL)
                free(t.data);
            t.data = bigger;
        }
    }
    if (t.data == NULL)
        die("out of memory reading", path);
    t.data[t.size] = '\0';
    fclose(f);
    return t;
}

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (p == NULL)
        die("out of memory for", b);
    snprintf(p, n, "%s/%s", a, b);
    return p;
}

static void base64(FILE *out, const unsigned char *p, size_t n)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        fputc(tab[v >> 18 & 63], out);
        fputc(tab[v >> 12 & 63], out);
        fputc(i + 1 < n ? tab[v >> 6 & 63] : '=', out);
        fputc(i + 2 < n ? tab[v & 63] : '=', out);
    }
}

/* s with &, <, >, " escaped, into buf. */
static const char *html(const char *s, char *buf, size_t size)
{
    size_t j = 0;
    for (; *s && j + 7 < size; s++) {
        const char *e = *s == '&' ? "&amp;" : *s == '<' ? "&lt;"
                      : *s == '>' ? "&gt;" : *s == '"' ? "&quot;"
                                                             : NULL;
        if (e) {
            memcpy(buf + j, e, strlen(e));
            j += strlen(e);
        } else {
            buf[j++] = *s;
        }
    }
    buf[j] = '\0';
    return buf;
}

static const char *mime_type(const char *file)
{
    const char *dot = strrchr(file, '.');
    if (dot && strcmp(dot, ".svg") == 0)
        return "image/svg+xml";
    if (dot && (strcmp(dot, ".jpg") == 0 || strcmp(dot, ".jpeg") == 0))
        return "image/jpeg";
    if (dot && strcmp(dot, ".gif") == 0)
        return "image/gif";
    return "image/png";
}

/* Undo report.c's HTML escaping of a file name. */
static void unescape(char *s)
{
    static const struct { const char *entity; char c; } map[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'},
        {"&#39;", '\''}};
    char *w = s;
    while (*s) {
        size_t k, n = sizeof map / sizeof map[0];
        for (k = 0; k < n; k++)
            if (strncmp(s, map[k].entity, strlen(map[k].entity)) == 0)
                break;
        if (k < n) {
            *w++ = map[k].c;
            s += strlen(map[k].entity);
        } else {
            *w++ = *s++;
        }
    }
    *w = '\0';
}

/* Copy the section of experiment folder `name` (the path dir) to out,
 * each <img src="FILE"> inlined as a data URI and each <a href="FILE"> to
 * a file of the folder (a chart's SVG) pointed at NAME/FILE, where it lies
 * beside index.html.  Missing files are counted as problems. */
static void copy_section(FILE *out, const char *section, const char *dir,
                         const char *name)
{
    static const char img_tag[] = "<img src=\"", link_tag[] = "<a href=\"";
    const char *p = section;
    for (;;) {
        const char *img = strstr(p, img_tag), *link = strstr(p, link_tag);
        int is_img = img && (!link || img < link);
        const char *hit = is_img ? img : link;
        if (hit == NULL)
            break;
        const char *src = hit + (is_img ? strlen(img_tag) : strlen(link_tag));
        const char *end = strchr(src, '"');
        if (end == NULL)
            break;
        fwrite(p, 1, (size_t)(src - p), out);
        p = end;
        char *file = strndup(src, (size_t)(end - src));
        if (file == NULL)
            die("out of memory in", dir);
        unescape(file);
        if (strncmp(file, "data:", 5) == 0 || strstr(file, "://") ||
            file[0] == '#' || file[0] == '/') {
            fwrite(src, 1, (size_t)(end - src), out);
            free(file);
            continue;
        }
        char *path = join(dir, file);
        if (!is_img) {
            struct stat st;
            if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
                st.st_size == 0) {
                fprintf(stderr, "make_report: missing linked file %s\n",
                        path);
                problems++;
            }
            char buf[1024];
            fprintf(out, "%s/", html(name, buf, sizeof buf));
            fwrite(src, 1, (size_t)(end - src), out);
        } else {
            text img_data = slurp(path);
            if (img_data.data == NULL || img_data.size == 0) {
                fprintf(stderr, "make_report: missing image %s\n", path);
                problems++;
                fwrite(src, 1, (size_t)(end - src), out); /* shows broken */
            } else {
                fprintf(out, "data:%s;base64,", mime_type(file));
                base64(out, (const unsigned char *)img_data.data,
                       img_data.size);
            }
            free(img_data.data);
        }
        free(path);
        free(file);
    }
    fputs(p, out);
}

/* The text of `"key": "value"` in a JSON text, into buf ("" if absent). */
static void json_string_field(const char *json, const char *key, char *buf,
                              size_t size)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\": \"", key);
    buf[0] = '\0';
    const char *p = json ? strstr(json, pattern) : NULL;
    if (p == NULL)
        return;
    p += strlen(pattern);
    size_t n = 0;
    while (p[n] && p[n] != '"' && n + 1 < size)
        n++;
    memcpy(buf, p, n);
    buf[n] = '\0';
}

static void trim_end(text *t)
{
    while (t->size > 0 && (t->data[t->size - 1] == '\n' ||
                           t->data[t->size - 1] == ' ' ||
                           t->data[t->size - 1] == '\r'))
        t->data[--t->size] = '\0';
}

/* The <h2> heading's inner HTML and the section's id, for the contents. */
static void heading(const char *html, char *title, size_t tsize, char *id,
                    size_t isize)
{
    const char *h = strstr(html, "<h2>"), *e = h ? strstr(h, "</h2>") : NULL;
    snprintf(title, tsize, "%.*s", h && e ? (int)(e - h - 4) : 0,
             h ? h + 4 : "");
    const char *i = strstr(html, "<section id=\"");
    const char *ie = i ? strchr(i + 13, '"') : NULL;
    snprintf(id, isize, "%.*s", i && ie ? (int)(ie - i - 13) : 0,
             i ? i + 13 : "");
}

static const char css[] =
    "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;"
    "max-width:1100px;margin:0 auto;padding:1em 2em;color:#222;"
    "line-height:1.45}\n"
    "header{border-bottom:2px solid #1f77b4;margin-bottom:1em}\n"
    "h1{margin-bottom:.2em}\n"
    "h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}\n"
    ".meta{color:#555}\n"
    ".warn{background:#fff4e0;border-left:4px solid #ff7f0e;"
    "padding:.4em .8em}\n"
    "nav ol{columns:2}\n"
    "figure{margin:1.2em 0;text-align:center}\n"
    "figure img{max-width:100%;border:1px solid #ddd;"
    "image-rendering:pixelated}\n"
    "figcaption{font-size:.95em;color:#444;margin-top:.3em}\n"
    "table{border-collapse:collapse;margin:1em 0}\n"
    "caption{font-weight:bold;text-align:left;padding-bottom:.3em}\n"
    "th,td{border:1px solid #bbb;padding:.25em .7em;text-align:right}\n"
    "th{background:#eef3f8}\n"
    "td:first-child,th:first-child{text-align:left}\n";

typedef struct part {
    char name[256];
    text html, json;
} part;

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const part *)a)->name, ((const part *)b)->name);
}

/* Write to a temporary file beside path, then rename into place. */
static FILE *open_temp(const char *path, char *tmp, size_t size)
{
    snprintf(tmp, size, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        die("cannot write", tmp);
    return f;
}

static void finish(FILE *f, const char *tmp, const char *path)
{
    if (ferror(f) || fclose(f) != 0 || rename(tmp, path) != 0)
        die("cannot write", path);
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *data_name = NULL;
    int bad = 0;
    for (int i = 1; i < argc && !bad; i++) {
        if (strcmp(argv[i], "--data-name") == 0 && i + 1 < argc)
            data_name = argv[++i];
        else if (dir == NULL && argv[i][0] != '-')
            dir = argv[i];
        else
            bad = 1;
    }
    if (dir == NULL || bad) {
        fprintf(stderr, "usage: %s REPORT_DIR [--data-name NAME]\n",
                argv[0]);
        return 2;
    }

    /* The experiments' folders, in sorted order. */
    DIR *d = opendir(dir);
    if (d == NULL)
        die("cannot open", dir);
    part *parts = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char *sub = join(dir, e->d_name);
        char *section = join(sub, "section.html");
        if (is_dir(sub)) {
            text html = slurp(section);
            if (html.data != NULL) {
                part *more = realloc(parts, (n + 1) * sizeof *parts);
                if (more == NULL)
                    die("out of memory in", dir);
                parts = more;
                snprintf(parts[n].name, sizeof parts[n].name, "%s",
                         e->d_name);
                parts[n].html = html;
                char *json = join(sub, "results.json");
                parts[n].json = slurp(json);
                if (parts[n].json.data == NULL) {
                    fprintf(stderr, "make_report: missing %s\n", json);
                    problems++;
                } else {
                    trim_end(&parts[n].json);
                }
                free(json);
                n++;
            }
        }
        free(section);
        free(sub);
    }
    closedir(d);
    if (n == 0)
        die("no experiment sections (*/section.html) in", dir);
    qsort(parts, n, sizeof *parts, by_name);

    char found[128] = "", quick = 0;
    for (size_t i = 0; i < n; i++) {
        if (found[0] == '\0')
            json_string_field(parts[i].json.data, "data", found,
                              sizeof found);
        if (parts[i].json.data && strstr(parts[i].json.data,
                                         "\"quick\": true"))
            quick = 1;
    }
    if (data_name == NULL)
        data_name = found[0] ? found : "unknown";

    char date[64];
    time_t now = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M %Z", localtime(&now));

    char name_html[512];
    html(data_name, name_html, sizeof name_html);
    char *index = join(dir, "index.html"), tmp[4096];
    FILE *f = open_temp(index, tmp, sizeof tmp);
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
               "<meta charset=\"utf-8\">\n"
               "<title>libautoenc experiments on %s</title>\n"
               "<style>\n%s</style>\n</head>\n<body>\n<header>\n"
               "<h1>libautoenc: the autoencoder experiments</h1>\n"
               "<p class=\"meta\">Data set: <strong>%s</strong> &middot; "
               "generated %s &middot; %zu experiments</p>\n",
            name_html, css, name_html, date, n);
    if (strstr(data_name, "Fashion"))
        fputs("<p class=\"warn\">No MNIST was given or found (--data, "
              "$AUTOENC_DATA or data/mnist), so the experiments ran on "
              "Fashion-MNIST: pictures of clothes, not digits, and numbers "
              "that differ from the notebooks' MNIST figures.</p>\n", f);
    if (quick)
        fputs("<p class=\"warn\">Quick mode: a small subset and one epoch. "
              "This report is a smoke test; its numbers and pictures say "
              "little about the methods.</p>\n", f);
    fputs("<nav>\n<h2>Contents</h2>\n<ol>\n", f);
    for (size_t i = 0; i < n; i++) {
        char title[512], id[128];
        heading(parts[i].html.data, title, sizeof title, id, sizeof id);
        fprintf(f, "<li><a href=\"#%s\">%s</a></li>\n", id,
                title[0] ? title : parts[i].name);
    }
    fputs("</ol>\n</nav>\n</header>\n<main>\n", f);
    for (size_t i = 0; i < n; i++) {
        char *sub = join(dir, parts[i].name);
        copy_section(f, parts[i].html.data, sub, parts[i].name);
        free(sub);
    }
    fputs("</main>\n</body>\n</html>\n", f);
    finish(f, tmp, index);

    char *results = join(dir, "results.json");
    f = open_temp(results, tmp, sizeof tmp);
    fputs("[\n", f);
    int first = 1;
    for (size_t i = 0; i < n; i++) {
        if (parts[i].json.data == NULL)
            continue;
        fprintf(f, "%s%s", first ? "" : ",\n", parts[i].json.data);
        first = 0;
    }
    fputs("\n]\n", f);
    finish(f, tmp, results);

    printf("report: %s (%zu experiments on %s), numbers: %s\n", index, n,
           data_name, results);
    for (size_t i = 0; i < n; i++) {
        free(parts[i].html.data);
        free(parts[i].json.data);
    }
    free(parts);
    free(index);
    free(results);
    return problems ? 1 : 0;
}
