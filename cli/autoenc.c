/* autoenc - the library's models from the command line, on the public API
 * alone.
 *
 *   autoenc info MODEL
 *   autoenc encode MODEL IMAGES -o OUT.npy
 *   autoenc reconstruct MODEL IMAGES -o OUT.npy|OUT.png
 *   autoenc export MODEL OUT.onnx [--part model|encoder|decoder]
 *
 * IMAGES is an IDX image file (raw or gzip), a folder of PNG images (one
 * subfolder per class), or a .npy array of float32 images in [0, 1]
 * (N x C x H x W, or N x C*H*W) or of uint8 pixels.  Exit status 0 on
 * success, 1 when the work fails (the error, naming the file, on stderr),
 * 2 for a command line that is not understood.  Nothing is printed on
 * success but what was asked for. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <autoenc.h>

static const char usage_text[] =
    "usage: autoenc info MODEL\n"
    "       autoenc encode MODEL IMAGES -o OUT.npy\n"
    "       autoenc reconstruct MODEL IMAGES -o OUT.npy|OUT.png\n"
    "       autoenc export MODEL OUT.onnx [--part model|encoder|decoder]\n"
    "       autoenc --help | --version\n"
    "\n"
    "  info         the model's layers, output shapes and parameter counts\n"
    "  encode       the codes of IMAGES as a float32 .npy (N x code size)\n"
    "  reconstruct  the reconstructions of IMAGES as a float32 .npy in the\n"
    "               model's input shape, or a PNG grid of the first 64\n"
    "  export       the model as an ONNX file (opset 13, any batch size):\n"
    "               the whole autoencoder (the default), or with --part its\n"
    "               encoder (input to code) or decoder (code to output)\n"
    "\n"
    "IMAGES: an IDX image file (raw or .gz), a folder of PNG images with one\n"
    "subfolder per class, or a .npy array (float32 in [0, 1], or uint8).\n";

static int usage(void)
{
    fputs(usage_text, stderr);
    return 2;
}

/* Report a failed call: what was being done, on which file, and why. */
static int fail(const char *what, const char *path, ae_status s)
{
    fprintf(stderr, "autoenc: %s %s: %s (%s)\n", what, path,
            ae_status_message(s), ae_last_error());
    return 1;
}

/* ---- info ---------------------------------------------------------------- */

static const char *kind_name(ae_layer_kind k)
{
    switch (k) {
    case AE_LAYER_DENSE: return "Dense";
    case AE_LAYER_CONV2D: return "Conv2D";
    case AE_LAYER_MAXPOOL2D: return "MaxPool2D";
    case AE_LAYER_MAXUNPOOL2D: return "MaxUnpool2D";
    case AE_LAYER_UPSAMPLE2D: return "UpSample2D";
    case AE_LAYER_CONV_TRANSPOSE2D: return "ConvTranspose2D";
    case AE_LAYER_RESHAPE: return "Reshape";
    case AE_LAYER_BATCHNORM: return "BatchNorm";
    case AE_LAYER_DROPOUT: return "Dropout";
    case AE_LAYER_GAUSSIAN_SAMPLE: return "GaussianSample";
    }
    return "?";
}

static const char *activation_name(ae_activation a)
{
    switch (a) {
    case AE_ACT_NONE: return "";
    case AE_ACT_RELU: return "relu";
    case AE_ACT_LEAKY_RELU: return "leaky_relu";
    case AE_ACT_TANH: return "tanh";
    case AE_ACT_SIGMOID: return "sigmoid";
    }
    return "?";
}

/* The format version from the file's header (docs/FORMAT.md: the u32 at
 * offset 8, little-endian), 0 if it cannot be read. */
static unsigned file_version(const char *path)
{
    unsigned char h[12];
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(h, 1, sizeof h, f) : 0;
    if (f)
        fclose(f);
    if (got < sizeof h)
        return 0;
    return (unsigned)h[8] | (unsigned)h[9] << 8 | (unsigned)h[10] << 16 |
           (unsigned)h[11] << 24;
}

static int info(const char *path)
{
    ae_model *m;
    ae_status s = ae_model_load(&m, path);
    if (s != AE_OK)
        return fail("cannot load the model", path, s);
    printf("Model: %s (format version %u)\n", path, file_version(path));
    printf("%-4s %-24s %-18s %12s\n", "", "Layer (type)", "Output shape",
           "Param #");
    printf("%.*s\n", 62, "=============================================="
                         "================");
    size_t layers = ae_model_layer_count(m);
    size_t encoder = ae_model_encoder_layer_count(m);
    for (size_t i = 0; i < layers; i++) {
        ae_layer *l;
        ae_model_layer(m, i, &l);
        int c, h, w;
        ae_layer_output_shape(l, &c, &h, &w);
        char name[64], shape[32];
        const char *act = activation_name(ae_layer_activation(l));
        snprintf(name, sizeof name, "%s%s%s%s", kind_name(ae_layer_get_kind(l)),
                 act[0] ? " (" : "", act, act[0] ? ")" : "");
        if (h == 1 && w == 1)
            snprintf(shape, sizeof shape, "(None, %d)", c);
        else
            snprintf(shape, sizeof shape, "(None, %d, %d, %d)", c, h, w);
        printf("%-4zu %-24s %-18s %12zu\n", i, name, shape,
               ae_layer_weight_count(l) + ae_layer_bias_count(l));
        if (i + 1 == encoder && i + 1 < layers)
            printf("     %s\n", "---- code ---- decoder ----");
    }
    printf("%.*s\n", 62, "=============================================="
                         "================");
    printf("Total params: %zu\n", ae_model_param_count(m));
    printf("Input size: %zu, code size: %zu, layers: %zu encoder + %zu "
           "decoder\n", ae_model_input_size(m), ae_model_code_size(m),
           encoder, layers - encoder);
    ae_model_free(m);
    return 0;
}

/* ---- images in ------------------------------------------------------------ */

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The images of path as floats in [0, 1], count x size of them, in a new
 * malloc'd array; size must be the model's input size. */
static int read_images(const char *path, size_t size, float **out,
                       size_t *count)
{
    struct stat st;
    if (ends_with(path, ".npy")) {
        ae_npy *a;
        ae_status s = ae_npy_load(&a, path);
        if (s != AE_OK)
            return fail("cannot read the images", path, s);
        size_t total = ae_npy_count(a);
        if (ae_npy_ndim(a) < 1 || total % size != 0 || total == 0) {
            fprintf(stderr, "autoenc: %s: %zu values are not a whole number "
                    "of images of %zu values\n", path, total, size);
            ae_npy_free(a);
            return 1;
        }
        float *x = malloc(total * sizeof *x);
        if (x == NULL) {
            ae_npy_free(a);
            return fail("cannot read the images", path, AE_ERR_NO_MEMORY);
        }
        if (ae_npy_element_type(a) == AE_NPY_U8) {
            const uint8_t *p = ae_npy_data(a);
            for (size_t i = 0; i < total; i++)
                x[i] = (float)p[i] / 255.0f;
        } else {
            memcpy(x, ae_npy_data(a), total * sizeof *x);
        }
        ae_npy_free(a);
        *out = x;
        *count = total / size;
        return 0;
    }
    ae_dataset *ds;
    ae_status s = stat(path, &st) == 0 && S_ISDIR(st.st_mode)
                      ? ae_dataset_load_png_folder(&ds, path)
                      : ae_dataset_load_idx(&ds, path, NULL);
    if (s != AE_OK)
        return fail("cannot read the images", path, s);
    if (ae_dataset_image_size(ds) != size) {
        fprintf(stderr, "autoenc: %s: images of %zu values, the model takes "
                "%zu\n", path, ae_dataset_image_size(ds), size);
        ae_dataset_free(ds);
        return 1;
    }
    *count = ae_dataset_count(ds);
    *out = malloc(*count * size * sizeof **out);
    if (*out == NULL) {
        ae_dataset_free(ds);
        return fail("cannot read the images", path, AE_ERR_NO_MEMORY);
    }
    s = ae_dataset_batch(ds, 0, *count, *out, NULL);
    ae_dataset_free(ds);
    if (s != AE_OK) {
        free(*out);
        return fail("cannot read the images", path, s);
    }
    return 0;
}

/* ---- encode and reconstruct ------------------------------------------------ */

static int run(int reconstruct, const char *model_path,
               const char *images_path, const char *out_path)
{
    ae_model *m;
    ae_status s = ae_model_load(&m, model_path);
    if (s != AE_OK)
        return fail("cannot load the model", model_path, s);
    size_t in = ae_model_input_size(m), code = ae_model_code_size(m), n = 0;
    float *x = NULL;
    int rc = read_images(images_path, in, &x, &n);
    if (rc != 0) {
        ae_model_free(m);
        return rc;
    }
    size_t per = reconstruct ? in : code;
    float *y = malloc(n * per * sizeof *y);
    if (y == NULL) {
        rc = fail("cannot allocate the outputs for", images_path,
                  AE_ERR_NO_MEMORY);
    } else {
        s = reconstruct ? ae_model_reconstruct(m, x, n, y)
                        : ae_model_encode(m, x, n, y);
        if (s != AE_OK)
            rc = fail(reconstruct ? "cannot reconstruct"
                                  : "cannot encode", images_path, s);
    }
    ae_layer *first;
    int c = 1, h = 1, w = 1;
    if (rc == 0 && ae_model_layer(m, 0, &first) == AE_OK)
        ae_layer_input_shape(first, &c, &h, &w);
    if (rc == 0 && ends_with(out_path, ".png")) {
        if (!reconstruct) {
            fprintf(stderr, "autoenc: %s: codes are written as .npy\n",
                    out_path);
            rc = 2;
        } else {
            size_t tiles = n < 64 ? n : 64;
            s = ae_image_grid_write_png(out_path, y, tiles, 8, c, h, w, 0.0f,
                                        1.0f, 2);
            if (s != AE_OK)
                rc = fail("cannot write", out_path, s);
        }
    } else if (rc == 0) {
        size_t shape[4] = {n, (size_t)c, (size_t)h, (size_t)w};
        size_t code_shape[2] = {n, code};
        s = reconstruct ? ae_npy_save(out_path, AE_NPY_F32, y, shape, 4)
                        : ae_npy_save(out_path, AE_NPY_F32, y, code_shape, 2);
        if (s != AE_OK)
            rc = fail("cannot write", out_path, s);
    }
    free(x);
    free(y);
    ae_model_free(m);
    return rc;
}

/* ---- export ---------------------------------------------------------------- */

static int export_onnx(const char *model_path, const char *out_path,
                       ae_onnx_part part)
{
    ae_model *m;
    ae_status s = ae_model_load(&m, model_path);
    if (s != AE_OK)
        return fail("cannot load the model", model_path, s);
    s = ae_model_export_onnx(m, out_path, part);
    ae_model_free(m);
    if (s != AE_OK)
        return fail("cannot export the model to", out_path, s);
    return 0;
}

/* The part named by --part's argument, or -1. */
static int part_named(const char *name)
{
    if (strcmp(name, "model") == 0)
        return AE_ONNX_MODEL;
    if (strcmp(name, "encoder") == 0)
        return AE_ONNX_ENCODER;
    if (strcmp(name, "decoder") == 0)
        return AE_ONNX_DECODER;
    return -1;
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 ||
                      strcmp(argv[1], "-h") == 0)) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("autoenc %s\n", ae_version_string());
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "info") == 0)
        return info(argv[2]);
    if (argc == 6 && (strcmp(argv[1], "encode") == 0 ||
                      strcmp(argv[1], "reconstruct") == 0) &&
        strcmp(argv[4], "-o") == 0)
        return run(strcmp(argv[1], "reconstruct") == 0, argv[2], argv[3],
                   argv[5]);
    if (argc == 4 && strcmp(argv[1], "export") == 0)
        return export_onnx(argv[2], argv[3], AE_ONNX_MODEL);
    if (argc == 6 && strcmp(argv[1], "export") == 0 &&
        strcmp(argv[4], "--part") == 0 && part_named(argv[5]) >= 0)
        return export_onnx(argv[2], argv[3], (ae_onnx_part)part_named(argv[5]));
    return usage();
}
