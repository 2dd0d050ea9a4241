/**
 * @file autoenc.h
 * libautoenc public API: autoencoders and PCA on image data.
 *
 * Conventions (they hold for every function below unless it says otherwise):
 *  - Names read `ae_<object>_<verb>`.  Handles are opaque; each has a create
 *    (or load) call and a free call, and every free call accepts NULL.
 *  - Functions that can fail return an ae_status.  AE_OK is 0.  On failure
 *    nothing the caller owns has been changed, outputs are left untouched
 *    (pointer-to-handle outputs are set to NULL), and ae_last_error() on the
 *    same thread returns a detailed message naming the file, offset, layer or
 *    dimension at fault.  A NULL handle or required pointer is AE_ERR_NULL.
 *  - Arrays of images are row-major, batch first, each image stored as
 *    channels x height x width floats.  The caller owns every array it passes
 *    in; the library never keeps a pointer to one after the call returns.
 *  - The library never aborts, exits, asserts on user input or prints.
 *  - Thread safety: distinct handles may be used from distinct threads at
 *    once.  One handle must not be used from two threads at once, except a
 *    dataset, which is read-only after loading and may be shared freely.
 *    ae_set_threads() and ae_set_allocator() are process-wide and must be
 *    called while no other library call is running.
 *
 * ABI: within one major version (the soname), no function is removed or
 * changes signature and no enum value changes meaning.  All versions noted
 * "since 0.1" below belong to the first release.
 *
 * Comments here are the API reference: Doxygen builds it (-Ddocs), and a
 * public name, parameter, return value, field or enum value left without
 * its comment fails the build (docs/ARCHITECTURE.md, "Checklist:
 * documenting a public call").
 */
#ifndef AUTOENC_H
#define AUTOENC_H

#include <stddef.h>
#include <stdint.h>

#include "autoenc_version.h"

/** Marks the library's public functions: default symbol visibility while
 * the library itself is built (every other symbol stays hidden), nothing
 * for the programs that use it. */
#if defined(AE_BUILDING_LIBRARY) && defined(__GNUC__)
#define AE_API __attribute__((visibility("default")))
#else
#define AE_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Version                                                                   */
/* ------------------------------------------------------------------------ */
/** @defgroup version Version
 * The version of the library linked at run time; autoenc_version.h has
 * the version of the header compiled against.
 * @{ */

/** Run-time version: AE_VERSION_NUMBER of the library actually linked
 * (major * 10000 + minor * 100 + patch).
 * @return the version number */
AE_API unsigned ae_version_number(void);
/** Run-time version as a dotted string, AE_VERSION_STRING of the library
 * actually linked.
 * @return a static string, never NULL */
AE_API const char *ae_version_string(void);
/** @} */

/* ------------------------------------------------------------------------ */
/* Status codes and error messages                                           */
/* ------------------------------------------------------------------------ */
/** @defgroup status Status codes and error messages
 * @{ */

/** One list gives the codes, their names and their messages.  Values are
 * fixed forever; new codes take new numbers.  Each entry is
 * X(name, value, message). */
#define AE_STATUS_LIST(X)                                                      \
    X(AE_OK, 0, "success")                                                     \
    X(AE_ERR_NULL, 1, "a required handle or pointer is NULL")                  \
    X(AE_ERR_INVALID_ARGUMENT, 2, "an argument is out of its valid range")     \
    X(AE_ERR_SHAPE, 3, "array or layer shapes do not fit together")           \
    X(AE_ERR_NO_MEMORY, 4, "out of memory")                                    \
    X(AE_ERR_IO, 5, "file could not be opened, read or written")              \
    X(AE_ERR_FORMAT, 6, "data is malformed, truncated or of an unknown format") \
    X(AE_ERR_CHECKSUM, 7, "stored checksum does not match the content")        \
    X(AE_ERR_NOT_FINITE, 8, "a NaN or infinity appeared")                      \
    X(AE_ERR_BAD_STATE, 9, "handle is unusable after an earlier failure")      \
    X(AE_ERR_NUMERIC, 10, "a linear-algebra routine did not converge")         \
    X(AE_ERR_UNSUPPORTED, 11, "operation not supported for this object")       \
    X(AE_ERR_LIMIT, 12, "input exceeds a size limit")

/** What a call that can fail returns: AE_OK, or why it failed (each code's
 * message is the one ae_status_message returns). */
typedef enum ae_status {
#define AE_STATUS_ENUM_(name, value, message) name = value,
    AE_STATUS_LIST(AE_STATUS_ENUM_)
#undef AE_STATUS_ENUM_
} ae_status;

/** Static, human-readable description of a status code.
 * @param status any value; an unknown one gives "unknown status code"
 * @return a static string, never NULL */
AE_API const char *ae_status_message(ae_status status);
/** Static identifier of a status code ("AE_ERR_SHAPE").
 * @param status any value; an unknown one gives "AE_UNKNOWN_STATUS"
 * @return a static string, never NULL */
AE_API const char *ae_status_name(ae_status status);
/** Detailed message of the most recent failing call on this thread.
 * @return the message, or "" if no call failed yet on this thread; valid
 *         until the next library call on this thread */
AE_API const char *ae_last_error(void);
/** Set this thread's ae_last_error() text, for the caller's callbacks (a
 * reduction above all): the library call that called the callback fails
 * with the callback's status and its message after a prefix naming where
 * ("the workers' reduction: ...").  Since 0.2.
 * @param status the status to return
 * @param message the text (copied; longer than 511 bytes is cut), or NULL
 *        for status's own message (ae_status_message)
 * @return status */
AE_API ae_status ae_set_last_error(ae_status status, const char *message);
/** @} */

/* ------------------------------------------------------------------------ */
/* Process-wide settings                                                     */
/* ------------------------------------------------------------------------ */
/** @defgroup settings Process-wide settings
 * @{ */

/** Number of threads the library uses, BLAS included: one setting for both,
 * and never more busy threads than n.  Training splits each batch among
 * the library's own threads (started on first use, asleep when idle), each
 * calling BLAS single-threaded; BLAS gets the n threads back for the work
 * the library leaves to it whole (PCA, t-SNE distances).  The setting
 * overrides OPENBLAS_NUM_THREADS and the like.  n = 0 restores the default,
 * the number of online processors.  Results are bit-identical for the same
 * seed and the same thread count.  Training's do not depend on the thread
 * count at all: the library cuts each product into BLAS calls fixed by the
 * shapes; the work it leaves to BLAS whole may round with the thread
 * count.  When several threads of the program call the library at once,
 * one call at a time gets the library's threads and the others run on
 * their callers' threads: safe, but BLAS may then round as with another
 * thread count.
 * @param n number of threads, 1 .. 4096, or 0 for the default
 * @return AE_OK, or AE_ERR_INVALID_ARGUMENT for n outside 0 .. 4096 */
AE_API ae_status ae_set_threads(int n);
/** The thread count in force (ae_set_threads).
 * @return the number of threads the library uses */
AE_API int ae_threads(void);

/** An allocation function of ae_set_allocator: like malloc.
 * @param opaque the pointer given to ae_set_allocator
 * @param size bytes wanted, > 0
 * @return the memory, or NULL when there is none */
typedef void *(*ae_alloc_fn)(void *opaque, size_t size);
/** The matching free function of ae_set_allocator: like free.
 * @param opaque the pointer given to ae_set_allocator
 * @param ptr memory from the allocation function, or NULL */
typedef void (*ae_free_fn)(void *opaque, void *ptr);
/** Route the library's own allocations through alloc_fn/free_fn (both, or
 * neither: NULL restores malloc/free).  Must be called before any handle
 * exists.  BLAS, LAPACK and zlib allocate outside this hook.
 * @param alloc_fn allocation function, or NULL
 * @param free_fn free function, or NULL
 * @param opaque passed to both
 * @return AE_OK, or AE_ERR_INVALID_ARGUMENT for one function NULL and
 *         the other not */
AE_API ae_status ae_set_allocator(ae_alloc_fn alloc_fn, ae_free_fn free_fn,
                                  void *opaque);
/** @} */

/* ------------------------------------------------------------------------ */
/* Datasets                                                                  */
/* ------------------------------------------------------------------------ */
/** @defgroup datasets Datasets
 * Images (and labels) loaded from IDX files, memory or a folder of PNG
 * pictures, handed out as floats in batches.
 * @{ */

/** A loaded set of images, uint8 pixels of one shape, with or without
 * labels.  Read-only after loading: it may be shared by threads. */
typedef struct ae_dataset ae_dataset;

/** How pixels (0..255) become floats in batches. */
typedef enum ae_pixel_range {
    AE_RANGE_UNIT = 0,      /**< p / 255, in [0, 1] (the default) */
    AE_RANGE_SYMMETRIC = 1  /**< p / 127.5 - 1, in [-1, 1] */
} ae_pixel_range;

/** Load MNIST-style IDX files: images (magic 0x00000803, uint8, N x H x W) and
 * optionally labels (magic 0x00000801, uint8, N; labels_path may be NULL).
 * Each file may be raw or gzip-compressed (detected from its content).
 * Magic, dimensions and lengths are checked against the data: N, H and W
 * must be >= 1 (else AE_ERR_FORMAT) and H, W <= 4096 (else AE_ERR_LIMIT),
 * and N x H x W must fit in memory sizes (AE_ERR_LIMIT); a file shorter or longer
 * than its header declares is AE_ERR_FORMAT, and a gzip stream is never
 * inflated past the declared size.  Image and label counts must agree
 * (AE_ERR_SHAPE); label values are not restricted.  Pixels are kept as
 * uint8, one channel.  Errors name the file; AE_ERR_IO if it cannot be
 * opened or read.
 * @param[out] out the new dataset (free it with ae_dataset_free)
 * @param images_path the image file
 * @param labels_path the label file, or NULL for none
 * @return AE_OK, or one of the codes above */
AE_API ae_status ae_dataset_load_idx(ae_dataset **out, const char *images_path,
                                     const char *labels_path);
/** The same from memory buffers, which are copied; labels may be NULL with
 * labels_size 0 (NULL with a non-zero size is AE_ERR_NULL).
 * @param[out] out the new dataset
 * @param images the bytes of an IDX image file
 * @param images_size their number
 * @param labels the bytes of an IDX label file, or NULL
 * @param labels_size their number (0 with NULL labels)
 * @return AE_OK, or the codes of ae_dataset_load_idx */
AE_API ae_status ae_dataset_load_idx_memory(ae_dataset **out,
                                            const void *images,
                                            size_t images_size,
                                            const void *labels,
                                            size_t labels_size);
/** Open a raw (uncompressed) IDX image file by memory-mapping it instead of
 * reading it, for data sets larger than memory: the pixels are read in place
 * from a read-only mapping, and training, batches, subsets and splits work
 * as on a loaded dataset, in the same order.  The header and the exact file
 * size are checked as ae_dataset_load_idx checks them (same codes) before
 * anything is mapped.  A gzip-compressed image file is AE_ERR_UNSUPPORTED
 * (decompress it, or use ae_dataset_load_idx), as is a path that is not a
 * regular file.  labels_path (may be NULL) is read into memory, raw or
 * gzip, as by ae_dataset_load_idx.  AE_ERR_IO if a file cannot be opened,
 * read or mapped.
 * Resident memory stays bounded whatever the file's size and the order of
 * reads: pages of the mapping already read are dropped from the process's
 * resident set after every 64 MiB or so of reads (they stay in the kernel's
 * page cache, so reading them again costs no disk access while memory
 * allows).  The file is unmapped when the last handle sharing it (subsets,
 * splits, batch iterators) is freed.  It must not be truncated or rewritten
 * while mapped: a read past a truncated end kills the process with SIGBUS.
 * Since 0.1.
 * @param[out] out the new dataset
 * @param images_path the raw image file
 * @param labels_path the label file, or NULL for none
 * @return AE_OK, or one of the codes above */
AE_API ae_status ae_dataset_map_idx(ae_dataset **out, const char *images_path,
                                    const char *labels_path);
/** Free a dataset; NULL is accepted.  Subsets and splits sharing its
 * storage stay valid.
 * @param ds the dataset */
AE_API void ae_dataset_free(ae_dataset *ds);

/** Number of images.
 * @param ds the dataset
 * @return the count, >= 1 (a dataset is never empty); 0 for a NULL handle */
AE_API size_t ae_dataset_count(const ae_dataset *ds);
/** Image shape; any output pointer may be NULL.
 * @param ds the dataset
 * @param[out] channels channels per image (1 for IDX and PNG data)
 * @param[out] height rows per image
 * @param[out] width columns per image
 * @return AE_OK, or AE_ERR_NULL for ds */
AE_API ae_status ae_dataset_shape(const ae_dataset *ds, int *channels,
                                  int *height, int *width);
/** Floats per image.
 * @param ds the dataset
 * @return channels * height * width (0 for a NULL handle) */
AE_API size_t ae_dataset_image_size(const ae_dataset *ds);
/** Whether the dataset has labels.
 * @param ds the dataset
 * @return 1 if the dataset has labels, else 0 */
AE_API int ae_dataset_has_labels(const ae_dataset *ds);

/** Pixel range used by ae_dataset_batch and training (default AE_RANGE_UNIT).
 * It belongs to the handle: subsets and splits inherit it when made, and
 * setting it later on one handle leaves the others alone.  0 and 255 map
 * exactly to the ends of the range.
 * @param ds the dataset
 * @param range the new range
 * @return AE_OK, or AE_ERR_INVALID_ARGUMENT for an unknown range */
AE_API ae_status ae_dataset_set_range(ae_dataset *ds, ae_pixel_range range);
/** The pixel range of the handle (ae_dataset_set_range).
 * @param ds the dataset
 * @return its range (AE_RANGE_UNIT for a NULL handle) */
AE_API ae_pixel_range ae_dataset_range(const ae_dataset *ds);

/** Copy images first .. first+count-1 as floats into images (count *
 * image_size floats) and, if labels is not NULL, their labels.  A range
 * past the end is AE_ERR_INVALID_ARGUMENT, labels on a dataset without
 * them AE_ERR_UNSUPPORTED; on failure nothing is written.
 * @param ds the dataset
 * @param first index of the first image
 * @param count number of images
 * @param[out] images count * ae_dataset_image_size floats
 * @param[out] labels count bytes, or NULL
 * @return AE_OK, or one of the codes above */
AE_API ae_status ae_dataset_batch(const ae_dataset *ds, size_t first,
                                  size_t count, float *images,
                                  uint8_t *labels);
/** The same for an arbitrary list of indices (repeats allowed); any index
 * >= count is AE_ERR_INVALID_ARGUMENT and nothing is written.
 * @param ds the dataset
 * @param indices count image indices
 * @param count their number
 * @param[out] images count * ae_dataset_image_size floats
 * @param[out] labels count bytes, or NULL
 * @return AE_OK, or the codes of ae_dataset_batch */
AE_API ae_status ae_dataset_gather(const ae_dataset *ds, const size_t *indices,
                                   size_t count, float *images,
                                   uint8_t *labels);
/** Label of one image (AE_ERR_UNSUPPORTED if the dataset has none).
 * @param ds the dataset
 * @param index the image, < ae_dataset_count (else AE_ERR_INVALID_ARGUMENT)
 * @param[out] label its label
 * @return AE_OK, or one of the codes above */
AE_API ae_status ae_dataset_label(const ae_dataset *ds, size_t index,
                                  uint8_t *label);

/** A new dataset of images first .. first+count-1 (count >= 1).  It shares
 * the pixel storage (freeing either handle is safe in any order, and handles
 * sharing storage may be used and freed on different threads).
 * @param ds the dataset
 * @param first index of the first image
 * @param count number of images, >= 1
 * @param[out] out the new dataset
 * @return AE_OK, or AE_ERR_INVALID_ARGUMENT for a range that is empty or
 *         past the end */
AE_API ae_status ae_dataset_subset(const ae_dataset *ds, size_t first,
                                   size_t count, ae_dataset **out);
/** Random split: a permutation drawn from seed puts round(train_fraction * N)
 * images in *train and the rest in *validation, each in permuted order.
 * train_fraction must lie strictly between 0 and 1 and leave both parts
 * non-empty (else AE_ERR_INVALID_ARGUMENT).  Both share storage.
 * @param ds the dataset
 * @param train_fraction share of the images that go to *train
 * @param seed of the permutation
 * @param[out] train the first part
 * @param[out] validation the rest
 * @return AE_OK, or one of the codes above */
AE_API ae_status ae_dataset_split(const ae_dataset *ds, double train_fraction,
                                  uint64_t seed, ae_dataset **train,
                                  ae_dataset **validation);

/** Mini-batch iteration: each epoch visits every image once, in an order
 * drawn from the seed and the epoch number alone (so it does not depend on
 * batch_size), or in stored order when shuffle is 0.  The last batch of an
 * epoch may be smaller; a batch_size above the image count gives one short
 * batch per epoch; batch_size 0 is AE_ERR_INVALID_ARGUMENT.  The iterator
 * keeps its own reference to ds's images (ds may be freed first) and uses
 * ds's pixel range as it was at creation. */
typedef struct ae_batches ae_batches;
/** A batch iterator over ds (see ae_batches).
 * @param[out] out the new iterator
 * @param ds the dataset
 * @param batch_size images per batch, >= 1
 * @param shuffle 1 for a new order each epoch, 0 for stored order
 * @param seed of the orders
 * @return AE_OK, or one of the codes above */
AE_API ae_status ae_batches_create(ae_batches **out, const ae_dataset *ds,
                                   size_t batch_size, int shuffle,
                                   uint64_t seed);
/** Free an iterator; NULL is accepted.
 * @param it the iterator */
AE_API void ae_batches_free(ae_batches *it);
/** Fill the next batch: images (batch_size * image_size floats) and, unless
 * labels is NULL, labels (batch_size bytes; AE_ERR_UNSUPPORTED if the
 * dataset has none).  *count receives its size, 0 once the epoch is over
 * (the following call starts the next epoch).
 * @param it the iterator
 * @param[out] images batch_size * ae_dataset_image_size floats
 * @param[out] labels batch_size bytes, or NULL
 * @param[out] count images written, 0 at the end of an epoch
 * @return AE_OK, or one of the codes above */
AE_API ae_status ae_batches_next(ae_batches *it, float *images,
                                 uint8_t *labels, size_t *count);
/** Number of batches per epoch.
 * @param it the iterator
 * @return ceil(N / batch_size) (0 for NULL) */
AE_API size_t ae_batches_per_epoch(const ae_batches *it);
/** @} */

/* ------------------------------------------------------------------------ */
/* Noise                                                                     */
/* ------------------------------------------------------------------------ */
/** @defgroup noise Noise
 * @{ */

/** Kinds of noise that corrupt images (ae_corrupt, AE_TRAIN_NOISE). */
typedef enum ae_noise {
    AE_NOISE_NONE = 0, /**< the images as they are */
    /** x + level * N(0,1), clipped to [lo, hi] */
    AE_NOISE_GAUSSIAN = 1,
    /** each value independently set to lo with probability level/2, to hi
     * with probability level/2, else kept */
    AE_NOISE_SALT_PEPPER = 2
} ae_noise;

/** out[i] = corrupted in[i] for i < n; in and out may be the same array.
 * The noise is drawn from seed alone, so a call is reproducible.  level must
 * be finite and >= 0 (<= 1 for salt and pepper) and lo < hi, both finite,
 * else AE_ERR_INVALID_ARGUMENT; n may be 0.
 * @param kind the noise
 * @param level its strength: the standard deviation (Gaussian) or the
 *        share of values replaced (salt and pepper)
 * @param lo smallest value
 * @param hi largest value
 * @param seed of the noise
 * @param in n values
 * @param[out] out n values
 * @param n their number
 * @return AE_OK, or one of the codes above */
AE_API ae_status ae_corrupt(ae_noise kind, float level, float lo, float hi,
                            uint64_t seed, const float *in, float *out,
                            size_t n);
/** @} */

/* ------------------------------------------------------------------------ */
/* Layers and models                                                         */
/* ------------------------------------------------------------------------ */
/** @defgroup models Layers and models
 * @{ */

/** An autoencoder: encoder layers, then decoder layers, and their weights. */
typedef struct ae_model ae_model;
/** One layer of a model, borrowed from it (ae_model_layer). */
typedef struct ae_layer ae_layer;

/** The function after a dense or convolution layer. */
typedef enum ae_activation {
    AE_ACT_NONE = 0,       /**< identity: a linear layer */
    AE_ACT_RELU = 1,       /**< max(0, x) */
    AE_ACT_LEAKY_RELU = 2, /**< x, or slope * x for x < 0: slope 0.01 unless
                                set (ae_layer_set_activation) */
    AE_ACT_TANH = 3,       /**< tanh(x), in (-1, 1) */
    AE_ACT_SIGMOID = 4     /**< 1 / (1 + exp(-x)), in (0, 1) */
} ae_activation;

/** What a layer is (ae_layer_get_kind); each comes from one ae_model_add_ call. */
typedef enum ae_layer_kind {
    AE_LAYER_DENSE = 1,            /**< ae_model_add_dense */
    AE_LAYER_CONV2D = 2,           /**< ae_model_add_conv2d */
    AE_LAYER_MAXPOOL2D = 3,        /**< ae_model_add_maxpool2d */
    AE_LAYER_MAXUNPOOL2D = 4,      /**< ae_model_add_maxunpool2d */
    AE_LAYER_UPSAMPLE2D = 5,       /**< ae_model_add_upsample2d */
    AE_LAYER_CONV_TRANSPOSE2D = 6, /**< ae_model_add_conv_transpose2d */
    AE_LAYER_RESHAPE = 7,          /**< ae_model_add_reshape */
    AE_LAYER_BATCHNORM = 8,        /**< ae_model_add_batchnorm (since 0.2) */
    AE_LAYER_DROPOUT = 9,          /**< ae_model_add_dropout (since 0.2) */
    AE_LAYER_GAUSSIAN_SAMPLE = 10  /**< ae_model_add_gaussian_sample (since
                                        0.2) */
} ae_layer_kind;

/** Which half of the autoencoder a layer belongs to.  The output of the last
 * encoder layer is the code. */
typedef enum ae_part {
    AE_ENCODER = 0, /**< input to code */
    AE_DECODER = 1  /**< code to reconstruction */
} ae_part;

/** An empty model for inputs of channels x height x width.  Layers added
 * later draw their initial weights, in order, from a generator seeded with
 * seed.
 * @param[out] out the new model (free it with ae_model_free)
 * @param channels channels of the input images, >= 1
 * @param height rows of the input images, >= 1
 * @param width columns of the input images, >= 1
 * @param seed of the initial weights
 * @return AE_OK, or AE_ERR_INVALID_ARGUMENT for a side < 1 or beyond the
 *         library's limits, AE_ERR_LIMIT for an input too large */
AE_API ae_status ae_model_create(ae_model **out, int channels, int height,
                                 int width, uint64_t seed);
/** Free a model and its layers; NULL is accepted.
 * @param m the model */
AE_API void ae_model_free(ae_model *m);

/** Append a fully connected layer of `units` outputs to the encoder or the
 * decoder (encoder layers must all come first).  Its input is the previous
 * layer's output (or the model input), flattened.  Weights and bias are drawn
 * like PyTorch's nn.Linear: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
 * @param m the model
 * @param part AE_ENCODER or AE_DECODER
 * @param units outputs, >= 1
 * @param act the activation after it
 * @return AE_OK, or the argument errors of the image-shaped layers */
AE_API ae_status ae_model_add_dense(ae_model *m, ae_part part, int units,
                                    ae_activation act);

/** @defgroup image_layers Image-shaped layers
 * @ingroup models
 * Every layer sees each image as channels x height x width (C x H x W
 * below, the previous layer's output shape, or the model input's) and
 * knows its output shape when added, so a layer whose shape does not fit
 * is refused at once with AE_ERR_SHAPE naming its index and the sizes.
 * Dense layers flatten whatever they get; ae_model_add_reshape turns a
 * flat vector back into an image.  As with dense layers, encoder layers
 * come first; a failing add leaves the model as it was.  The argument
 * errors common to all: AE_ERR_NULL for m, AE_ERR_INVALID_ARGUMENT for a
 * part other than AE_ENCODER / AE_DECODER or an unknown activation,
 * AE_ERR_UNSUPPORTED for an activation on a layer that takes none,
 * AE_ERR_LIMIT for a layer too large for the library's int sizes.
 *
 * Filters: ae_layer_get_weights copies a convolution's kernels out in
 * PyTorch's layout (below); ae_model_activations gives any layer's output
 * feature maps, batch x C x H x W, for inputs of the model.
 * @{ */

/** 2-D convolution (cross-correlation, as PyTorch's nn.Conv2d), square
 * kernel, zero padding on every side, bias, then `act`:
 *
 *     y[o][i][j] = b[o] + sum_{c,u,v} W[o][c][u][v] x[c][i*s-pad+u][j*s-pad+v]
 *
 * (s the stride; x is 0 outside the input).
 * Output: out_channels x ((H + 2 pad - kernel) / stride + 1) x (the same
 * for W), rounded down.  padding -1 means "same": (kernel - 1) / 2, which
 * keeps the size at stride 1 and needs an odd kernel.  Weights are
 * out_channels x C x kernel x kernel, row-major (PyTorch's layout), drawn
 * like PyTorch's: weights and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
 * fan_in = C * kernel * kernel.  Errors: out_channels, kernel or stride
 * < 1, padding < -1, or -1 with an even kernel: AE_ERR_INVALID_ARGUMENT;
 * kernel bigger than the padded input: AE_ERR_SHAPE.  Since 0.1.
 * @param m the model
 * @param part AE_ENCODER or AE_DECODER
 * @param out_channels output channels (filters), >= 1
 * @param kernel side of the square kernel, >= 1
 * @param stride step between windows, >= 1
 * @param padding zeros on every side, >= 0, or -1 for "same"
 * @param act the activation after it
 * @return AE_OK, or one of the codes above */
AE_API ae_status ae_model_add_conv2d(ae_model *m, ae_part part,
                                     int out_channels, int kernel, int stride,
                                     int padding, ae_activation act);

/** 2-D max pooling, no padding (PyTorch's nn.MaxPool2d): each output is the
 * largest value of its kernel x kernel window; the output side is
 * floor((H - kernel) / stride) + 1, so odd sizes drop the last row or
 * column (7 -> 3 with kernel 2, stride 2).  A NaN in a window wins.  The
 * layer records where each maximum came from, for its backward pass and
 * for a max-unpooling layer.  Errors: kernel or stride < 1:
 * AE_ERR_INVALID_ARGUMENT; kernel bigger than H or W: AE_ERR_SHAPE.
 * Since 0.1.
 * @param m the model
 * @param part AE_ENCODER or AE_DECODER
 * @param kernel side of the square window, >= 1
 * @param stride step between windows, >= 1
 * @return AE_OK, or one of the codes above */
AE_API ae_status ae_model_add_maxpool2d(ae_model *m, ae_part part,
                                        int kernel, int stride);

/** 2-D max unpooling (PyTorch's nn.MaxUnpool2d) paired with the max-pooling
 * layer numbered pool_layer, normally of the encoder: each value goes back
 * to the position its partner took it from, every other output is 0 (where
 * overlapping windows picked one position twice, the later one wins).  The
 * output is C x out_height x out_width, which must be the partner's input
 * size, so a pooling that dropped a row (7 -> 3) is undone exactly
 * (3 -> 7).  The positions are those of the partner's most recent forward
 * pass: image b uses those recorded for image b.  So ae_model_decode of
 * the codes of the latest ae_model_encode call gives the reconstruction
 * of those images.  An image beyond the batch the partner last saw (or any
 * image before the partner ever ran, e.g. a decode right after loading)
 * is scattered to the top-left position of each window instead.  Errors:
 * pool_layer not an earlier layer, or not a max-pooling layer:
 * AE_ERR_INVALID_ARGUMENT; this layer's input shape differs from the
 * partner's output shape, or out_height x out_width from the partner's
 * input size: AE_ERR_SHAPE, naming both layers.  Since 0.1.
 * @param m the model
 * @param part AE_ENCODER or AE_DECODER
 * @param pool_layer index of the partner max-pooling layer
 * @param out_height rows of the output: the partner's input rows
 * @param out_width columns of the output: the partner's input columns
 * @return AE_OK, or one of the codes above */
AE_API ae_status ae_model_add_maxunpool2d(ae_model *m, ae_part part,
                                          size_t pool_layer, int out_height,
                                          int out_width);

/** Nearest-neighbour upsampling by an integer factor (Keras' UpSampling2D):
 * y[c][i][j] = x[c][i / factor][j / factor]; output C x H*factor x
 * W*factor.  Errors: factor < 1: AE_ERR_INVALID_ARGUMENT.  Since 0.1.
 * @param m the model
 * @param part AE_ENCODER or AE_DECODER
 * @param factor of both sides, >= 1
 * @return AE_OK, or one of the codes above */
AE_API ae_status ae_model_add_upsample2d(ae_model *m, ae_part part,
                                         int factor);

/** 2-D transposed convolution (PyTorch's nn.ConvTranspose2d, the adjoint of
 * a convolution), square kernel, then `act`:
 *
 *     y[o][i*s-pad+u][j*s-pad+v] += W[c][o][u][v] x[c][i][j], plus b[o]
 *
 * (s the stride; terms falling outside the output are dropped).
 * Output side (H - 1) * stride - 2 pad + kernel + output_padding, e.g.
 * 3 -> 7 with kernel 3, stride 2 and 7 -> 14 with kernel 4, stride 2,
 * padding 1.  Weights are C x out_channels x kernel x kernel (PyTorch's
 * layout), drawn like PyTorch's: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with
 * fan_in = out_channels * kernel * kernel.  Errors: out_channels, kernel
 * or stride < 1, padding < 0, or output_padding outside [0, stride):
 * AE_ERR_INVALID_ARGUMENT; an output side < 1: AE_ERR_SHAPE.  Since 0.1.
 * @param m the model
 * @param part AE_ENCODER or AE_DECODER
 * @param out_channels output channels, >= 1
 * @param kernel side of the square kernel, >= 1
 * @param stride step between input positions in the output, >= 1
 * @param padding removed from every side of the output, >= 0
 * @param output_padding added to the bottom and right sides, [0, stride)
 * @param act the activation after it
 * @return AE_OK, or one of the codes above */
AE_API ae_status ae_model_add_conv_transpose2d(ae_model *m, ae_part part,
                                               int out_channels, int kernel,
                                               int stride, int padding,
                                               int output_padding,
                                               ae_activation act);

/** Reinterpret each image as channels x height x width, values in the same
 * order; flattening is a reshape to (C*H*W, 1, 1).  Errors: a side < 1:
 * AE_ERR_INVALID_ARGUMENT; a total other than C*H*W: AE_ERR_SHAPE.
 * Since 0.1.
 * @param m the model
 * @param part AE_ENCODER or AE_DECODER
 * @param channels new channels, >= 1
 * @param height new rows, >= 1
 * @param width new columns, >= 1
 * @return AE_OK, or one of the codes above */
AE_API ae_status ae_model_add_reshape(ae_model *m, ae_part part, int channels,
                                      int height, int width);
/** @} */

/** @defgroup train_eval_layers Batch normalisation, dropout and the mode
 * @ingroup models
 * Layers whose training and evaluation forms differ, and the model's mode
 * that chooses between them.
 *
 * The rule: a pass that only reads the model (ae_model_encode, _decode,
 * _reconstruct, _activations, _mean_activation, ae_trainer_evaluate and
 * the validation loss of ae_trainer_fit) always runs in evaluation form:
 * batch norm normalises with its running statistics, dropout is the
 * identity.  A pass that trains (ae_trainer_step, ae_trainer_fit's
 * batches, ae_model_forward_train) runs in the model's mode: training
 * mode (the default, from ae_model_create and ae_model_load) uses the
 * batch's statistics, updates the running ones and drops values; in
 * evaluation mode (ae_model_set_training(m, 0)) it runs in evaluation
 * form, and backward goes through that form, as after model.eval() in
 * PyTorch (fine-tuning with frozen statistics).
 *
 * When the running statistics move: ae_model_forward_train updates them
 * (and moves dropout's generator on) in its forward pass, as PyTorch does;
 * ae_trainer_step and each batch of ae_trainer_fit only once the step has
 * succeeded, so a step that fails (AE_ERR_NOT_FINITE, say) leaves them,
 * like the weights, as they were.  They are model state, not parameters:
 * the optimizer does not see them, ae_model_param_count does not count
 * them, and model files (format version 2) and checkpoints keep them, and
 * dropout's generator, so a resumed fit goes on bit for bit.
 *
 * Data-parallel training (ae_trainer_set_reduce): each worker normalises
 * its share of the batch with that share's statistics (as PyTorch's
 * DistributedDataParallel without SyncBatchNorm), and after every step the
 * workers' running statistics are replaced, through the reduction (one
 * call per batch-norm layer, 2 C floats), by their mean weighted by each
 * worker's share of the batch, so every worker keeps the same statistics.
 * Dropout draws for each image of the global batch the mask one process
 * would.  All since 0.2.
 * @{ */

/** Append a batch normalisation layer, as PyTorch's nn.BatchNorm1d on
 * dense inputs (C x 1 x 1: one feature per channel) and nn.BatchNorm2d on
 * images (C x H x W: per channel over the batch and every position):
 *
 *     y = gamma (x - mean) / sqrt(var + eps) + beta, then `act`
 *
 * In a training pass mean and var are the batch's (var biased, divided
 * by N H W), and the running statistics move as
 * running = (1 - momentum) running + momentum batch, with the unbiased
 * variance (divided by N H W - 1); in evaluation mean and var are the
 * running ones (initially 0 and 1).  Backward in training goes through
 * the batch statistics.  gamma (the weights, C, initially 1) and beta
 * (the biases, C, initially 0) are learnt; nothing is drawn from the
 * weight generator.  Output shape = input shape.  PyTorch's defaults are
 * momentum 0.1 and eps 1e-5.  A training pass on a batch giving one value
 * per channel (one image of C x 1 x 1) is refused with
 * AE_ERR_INVALID_ARGUMENT, as PyTorch refuses it.  Since 0.2.
 * @param m the model
 * @param part AE_ENCODER or AE_DECODER
 * @param momentum weight of each batch in the running statistics, [0, 1]
 * @param eps added to the variance, > 0 and finite
 * @param act the activation after it
 * @return AE_OK, or the argument errors of the image-shaped layers, and
 *         AE_ERR_INVALID_ARGUMENT for a momentum outside [0, 1] or an eps
 *         that is not positive and finite */
AE_API ae_status ae_model_add_batchnorm(ae_model *m, ae_part part,
                                        float momentum, float eps,
                                        ae_activation act);

/** Append an inverted dropout layer, as PyTorch's nn.Dropout: in a
 * training pass each value is kept with probability 1 - p and scaled by
 * 1 / (1 - p), or set to 0; in evaluation the layer is the identity.
 * The masks come from the layer's own generator, seeded from the model's
 * seed and the layer's index, so the same model, seed and data give the
 * same masks; its position (one count per committed training step) is
 * saved with the model and in checkpoints.  Output shape = input shape;
 * no parameters.  Since 0.2.
 * @param m the model
 * @param part AE_ENCODER or AE_DECODER
 * @param p the rate, in [0, 1)
 * @return AE_OK, or the argument errors of the image-shaped layers, and
 *         AE_ERR_INVALID_ARGUMENT for p outside [0, 1) (or NaN) */
AE_API ae_status ae_model_add_dropout(ae_model *m, ae_part part, float p);

/** Put the model in training mode (1, the default) or evaluation mode
 * (0): the form of batch norm and dropout that the passes that train use
 * (the rule above; passes that only read always use evaluation form).
 * Since 0.2.
 * @param m the model
 * @param training 1 for training mode, 0 for evaluation mode
 * @return AE_OK, or AE_ERR_NULL for m, AE_ERR_INVALID_ARGUMENT for a value
 *         other than 0 and 1 (the mode is then unchanged) */
AE_API ae_status ae_model_set_training(ae_model *m, int training);
/** The model's mode (ae_model_set_training).  Since 0.2.
 * @param m the model
 * @return 1 in training mode, 0 in evaluation mode or for NULL */
AE_API int ae_model_training(const ae_model *m);
/** @} */

/** Number of layers, encoder and decoder together; layers are numbered from
 * 0 in order of addition.
 * @param m the model
 * @return the number of layers (0 for NULL) */
AE_API size_t ae_model_layer_count(const ae_model *m);
/** Number of encoder layers (the code is the output of layer
 * encoder_layers - 1).
 * @param m the model
 * @return the number of encoder layers (0 for NULL) */
AE_API size_t ae_model_encoder_layer_count(const ae_model *m);
/** Borrow layer `index`; it lives as long as the model.
 * @param m the model
 * @param index the layer, < ae_model_layer_count
 * @param[out] layer the layer
 * @return AE_OK, or AE_ERR_INVALID_ARGUMENT for an index past the end */
AE_API ae_status ae_model_layer(const ae_model *m, size_t index,
                                ae_layer **layer);
/** Floats per input image.
 * @param m the model
 * @return channels * height * width of the input (0 for NULL) */
AE_API size_t ae_model_input_size(const ae_model *m);
/** Floats per code.
 * @param m the model
 * @return the output size of the last encoder layer (0 for NULL or a
 *         model without encoder layers) */
AE_API size_t ae_model_code_size(const ae_model *m);
/** Total number of trainable parameters.
 * @param m the model
 * @return weights and biases of every layer (0 for NULL) */
AE_API size_t ae_model_param_count(const ae_model *m);
/** Check that the model is complete: at least one encoder and one decoder
 * layer, and a decoder output of the input's size.  Called by the
 * functions below; useful to get the error early.
 * @param m the model
 * @return AE_OK, or AE_ERR_SHAPE naming what is missing */
AE_API ae_status ae_model_validate(const ae_model *m);

/** @name Forward passes
 * Forward passes on `batch` images (any batch size >= 1).  input holds
 * batch * input_size floats, code batch * code_size, output batch *
 * input_size.  ae_model_reconstruct's output may alias its input.
 * Memory: a call runs in passes of at most 128 images (fewer when the
 * layers' outputs are large: 16 for a model with 32 x 28 x 28 outputs),
 * through the buffers training left when they hold a pass, else through
 * buffers freed before the call returns, so what a call needs does not
 * grow with its batch (since 0.2).  The one exception is a max-pooling
 * layer with an unpooling partner, which keeps its positions for every
 * image of the latest call (4 bytes per pooled value), as
 * ae_model_add_maxunpool2d promises.  A convolution computed by
 * Winograd's algorithm also keeps its transformed kernels between calls
 * (16/9 floats per weight, the same for any batch), transformed again
 * after its weights change (since 0.2).  An image's result is the one it
 * gets alone up to float rounding: the matrix products of another batch
 * size may sum in another order.  Where that rounding decides a
 * max-pooling window between values that are equal in exact arithmetic
 * (a flat region in front of a convolution), a max-unpooling layer can
 * put the window's value in another of its cells, so such outputs differ
 * by more than rounding at those cells (docs/FORMAT.md, "ONNX export").
 * @{ */
/** Encode images into codes (see "Forward passes").
 * @param m the model
 * @param input batch * ae_model_input_size floats
 * @param batch number of images, >= 1
 * @param[out] code batch * ae_model_code_size floats
 * @return AE_OK, or a failure status */
AE_API ae_status ae_model_encode(ae_model *m, const float *input, size_t batch,
                                 float *code);
/** Decode codes into images (see "Forward passes").
 * @param m the model
 * @param code batch * ae_model_code_size floats
 * @param batch number of codes, >= 1
 * @param[out] output batch * ae_model_input_size floats
 * @return AE_OK, or a failure status */
AE_API ae_status ae_model_decode(ae_model *m, const float *code, size_t batch,
                                 float *output);
/** Encode and decode images (see "Forward passes").
 * @param m the model
 * @param input batch * ae_model_input_size floats
 * @param batch number of images, >= 1
 * @param[out] output batch * ae_model_input_size floats; may be input
 * @return AE_OK, or a failure status */
AE_API ae_status ae_model_reconstruct(ae_model *m, const float *input,
                                      size_t batch, float *output);
/** @} */
/** Output of layer `index` (after its activation) for `batch` inputs; out
 * holds batch * ae_layer_output_size floats.
 * @param m the model
 * @param index the layer
 * @param input batch * ae_model_input_size floats
 * @param batch number of images, >= 1
 * @param[out] out batch * ae_layer_output_size floats
 * @return AE_OK, or a failure status */
AE_API ae_status ae_model_activations(ae_model *m, size_t index,
                                      const float *input, size_t batch,
                                      float *out);
/** Mean of layer `index`'s output over every image of ds: per unit into
 * per_unit (ae_layer_output_size floats, may be NULL) and over all units
 * into *overall (may be NULL).
 * @param m the model
 * @param index the layer
 * @param ds the images
 * @param[out] per_unit ae_layer_output_size floats, or NULL
 * @param[out] overall the mean over all units, or NULL
 * @return AE_OK, or a failure status */
AE_API ae_status ae_model_mean_activation(ae_model *m, size_t index,
                                          const ae_dataset *ds,
                                          float *per_unit, double *overall);

/** Save a model (architecture and weights) to path.  The file is written to a
 * temporary name beside it and renamed into place, so path always holds
 * either its old content or the complete new model.  Format: docs/FORMAT.md.
 * @param m the model
 * @param path the file
 * @return AE_OK, or a failure status (AE_ERR_IO naming path, say)
 */
AE_API ae_status ae_model_save(const ae_model *m, const char *path);
/** Load a model saved by ae_model_save.  Any truncated, corrupted or hostile
 * file gives an error, never a crash.
 * @param[out] out the model
 * @param path the file
 * @return AE_OK, or the loading codes of ae_model_save_memory, or
 *         AE_ERR_IO */
AE_API ae_status ae_model_load(ae_model **out, const char *path);
/** The same through memory.  *size (required) always receives the
 * serialized size, even when the call fails because capacity is too small
 * (AE_ERR_INVALID_ARGUMENT, nothing written): call with buffer NULL to
 * learn it.  Models with NaN or infinite parameters are refused
 * (AE_ERR_NOT_FINITE).  Loading returns AE_ERR_FORMAT for malformed data,
 * AE_ERR_CHECKSUM for a CRC mismatch, AE_ERR_UNSUPPORTED for a newer format
 * version or unknown layer kind, AE_ERR_LIMIT for sizes beyond the limits
 * of docs/FORMAT.md.
 * @param m the model
 * @param[out] buffer capacity bytes, or NULL with capacity 0
 * @param capacity bytes available at buffer
 * @param[out] size the serialized size
 * @return AE_OK, or one of the codes above */
AE_API ae_status ae_model_save_memory(const ae_model *m, void *buffer,
                                      size_t capacity, size_t *size);
/** Load a model from the size bytes at data (ae_model_save_memory).
 * @param[out] out the model
 * @param data the serialized model
 * @param size its bytes
 * @return AE_OK, or the loading codes of ae_model_save_memory */
AE_API ae_status ae_model_load_memory(ae_model **out, const void *data,
                                      size_t size);

/** The kind of a layer.
 * @param l the layer
 * @return its kind (0 for NULL) */
AE_API ae_layer_kind ae_layer_get_kind(const ae_layer *l);
/** A layer's input shape; any output pointer may be NULL.
 * @param l the layer
 * @param[out] channels its input's channels
 * @param[out] height its input's rows
 * @param[out] width its input's columns
 * @return AE_OK, or AE_ERR_NULL for l */
AE_API ae_status ae_layer_input_shape(const ae_layer *l, int *channels,
                                      int *height, int *width);
/** A layer's output shape; any output pointer may be NULL (a dense layer's
 * is units x 1 x 1).
 * @param l the layer
 * @param[out] channels its output's channels
 * @param[out] height its output's rows
 * @param[out] width its output's columns
 * @return AE_OK, or AE_ERR_NULL for l */
AE_API ae_status ae_layer_output_shape(const ae_layer *l, int *channels,
                                       int *height, int *width);
/** Floats per image of a layer's output.
 * @param l the layer
 * @return channels * height * width of its output (0 for NULL) */
AE_API size_t ae_layer_output_size(const ae_layer *l);
/** Change the activation after the layer (param is the LeakyReLU slope, in
 * [0, 1), ignored otherwise).  Only for layers that have one (dense, convolutions).
 * @param l the layer
 * @param act the new activation
 * @param param the LeakyReLU slope, in [0, 1)
 * @return AE_OK, AE_ERR_INVALID_ARGUMENT for an unknown activation or a
 *         bad slope, AE_ERR_UNSUPPORTED for a layer without activation */
AE_API ae_status ae_layer_set_activation(ae_layer *l, ae_activation act,
                                         float param);
/** The activation after the layer.
 * @param l the layer
 * @return its activation (AE_ACT_NONE for a layer without one, or NULL) */
AE_API ae_activation ae_layer_activation(const ae_layer *l);

/** @name Weights and biases
 * Weights and biases, copied out or in, row-major in PyTorch's layouts:
 * dense out x in, conv2d out_c x in_c x k x k, conv_transpose2d in_c x
 * out_c x k x k; biases one per output unit or channel.  Pooling,
 * unpooling, upsampling and reshape layers have none (count 0).  n must
 * equal the count.
 * @{ */
/** Number of weights of a layer.
 * @param l the layer
 * @return the count (0 for a layer without weights, or NULL) */
AE_API size_t ae_layer_weight_count(const ae_layer *l);
/** Number of biases of a layer.
 * @param l the layer
 * @return the count (0 for a layer without biases, or NULL) */
AE_API size_t ae_layer_bias_count(const ae_layer *l);
/** Copy a layer's weights out.
 * @param l the layer
 * @param[out] w n floats
 * @param n ae_layer_weight_count (else AE_ERR_SHAPE)
 * @return AE_OK, or one of the codes above */
AE_API ae_status ae_layer_get_weights(const ae_layer *l, float *w, size_t n);
/** Copy weights into a layer.
 * @param l the layer
 * @param w n floats
 * @param n ae_layer_weight_count (else AE_ERR_SHAPE)
 * @return AE_OK, or one of the codes above */
AE_API ae_status ae_layer_set_weights(ae_layer *l, const float *w, size_t n);
/** Copy a layer's biases out.
 * @param l the layer
 * @param[out] b n floats
 * @param n ae_layer_bias_count (else AE_ERR_SHAPE)
 * @return AE_OK, or one of the codes above */
AE_API ae_status ae_layer_get_bias(const ae_layer *l, float *b, size_t n);
/** Copy biases into a layer.
 * @param l the layer
 * @param b n floats
 * @param n ae_layer_bias_count (else AE_ERR_SHAPE)
 * @return AE_OK, or one of the codes above */
AE_API ae_status ae_layer_set_bias(ae_layer *l, const float *b, size_t n);
/** @} */
/** @} */

/* ------------------------------------------------------------------------ */
/* ONNX export                                                               */
/* ------------------------------------------------------------------------ */

/** @defgroup onnx ONNX export
 * A model, or one half of it, as a standard ONNX file, which ONNX Runtime
 * and other ONNX tools run without this library.
 *
 * The file: ONNX IR version 7, operator set 13 of the default domain only,
 * producer "libautoenc"; the weights as initializers (raw little-endian
 * float32); tensors in the library's layout, batch x channels x height x
 * width (NCHW), with a symbolic batch dimension "N", so one file runs on
 * batches of any size.  Its one input and one output:
 *
 *     AE_ONNX_MODEL    "input" [N, C, H, W] -> "reconstruction" [N, C, H, W]
 *     AE_ONNX_ENCODER  "input" [N, C, H, W] -> "code"
 *     AE_ONNX_DECODER  "code"               -> "reconstruction" [N, C, H, W]
 *
 * C x H x W the model's input shape.  The code is shaped as the last
 * encoder layer's output: [N, units] after a dense layer, [N, C', H', W']
 * after the others; its values are those ae_model_encode writes, in the
 * same order.  The files compute what ae_model_reconstruct,
 * ae_model_encode and ae_model_decode compute, to float rounding
 * (tests/onnx/ checks them in ONNX Runtime to 1e-5); docs/FORMAT.md
 * ("ONNX export") lists the operators each layer becomes.  Since 0.2.
 * @{ */

/** Which part of a model an ONNX file holds.  Since 0.2. */
typedef enum ae_onnx_part {
    AE_ONNX_MODEL = 0,   /**< the whole autoencoder, ae_model_reconstruct */
    AE_ONNX_ENCODER = 1, /**< input to code, ae_model_encode */
    AE_ONNX_DECODER = 2  /**< code to reconstruction, ae_model_decode */
} ae_onnx_part;

/** Write one part of a model as an ONNX file.
 *
 * The file is written to a temporary file beside path, synced and renamed
 * into place, so path always holds its old content or the complete file;
 * the model is only read.  A decoder alone whose max-unpooling layer takes
 * its positions from a max-pooling layer of the encoder cannot be
 * expressed: ae_model_decode reads the positions the latest
 * ae_model_encode call recorded, state a graph of the decoder alone does
 * not have; export the whole model instead.  Since 0.2.
 * @param m the model (complete: ae_model_validate passes)
 * @param path the file to write
 * @param part AE_ONNX_MODEL, AE_ONNX_ENCODER or AE_ONNX_DECODER
 * @return AE_OK, or: AE_ERR_NULL for m or path; AE_ERR_INVALID_ARGUMENT
 *         for an empty path or an unknown part; the error of
 *         ae_model_validate for an incomplete model (AE_ERR_SHAPE);
 *         AE_ERR_UNSUPPORTED, saying why, for a part ONNX cannot express
 *         (above); AE_ERR_LIMIT for a file over 2 GiB, protobuf's limit
 *         (ONNX's external data files, which larger models need, are not
 *         written); AE_ERR_NO_MEMORY; AE_ERR_IO naming path and the
 *         system's reason (no temporary file is left behind) */
AE_API ae_status ae_model_export_onnx(const ae_model *m, const char *path,
                                      ae_onnx_part part);
/** The same into memory.
 *
 * *size receives the file's size whenever the part can be exported, even
 * when the call fails because capacity is too small; call with buffer
 * NULL and capacity 0 to learn it.  Since 0.2.
 * @param m the model
 * @param part AE_ONNX_MODEL, AE_ONNX_ENCODER or AE_ONNX_DECODER
 * @param[out] buffer capacity bytes, or NULL when capacity is 0
 * @param capacity the room in buffer, in bytes
 * @param[out] size the file's size in bytes (required)
 * @return as ae_model_export_onnx, and AE_ERR_INVALID_ARGUMENT, nothing
 *         written, when capacity is smaller than *size */
AE_API ae_status ae_model_export_onnx_memory(const ae_model *m,
                                             ae_onnx_part part, void *buffer,
                                             size_t capacity, size_t *size);
/** @} */

/* ------------------------------------------------------------------------ */
/* Optimizers                                                                */
/* ------------------------------------------------------------------------ */
/** @defgroup optimizers Optimizers
 * @{ */

/** A rule that updates a model's parameters from their gradients, with its
 * state (moments, step count). */
typedef struct ae_optimizer ae_optimizer;

/** Hyperparameters of an optimizer (ae_optimizer_set). */
typedef enum ae_optimizer_param {
    AE_OPT_LEARNING_RATE = 0, /**< > 0 */
    AE_OPT_BETA1 = 1,         /**< Adam, [0, 1), default 0.9 */
    AE_OPT_BETA2 = 2,         /**< Adam, [0, 1), default 0.999 */
    AE_OPT_EPSILON = 3,       /**< Adam, > 0, default 1e-8 */
    AE_OPT_MOMENTUM = 4,      /**< SGD, [0, 1), default 0 */
    AE_OPT_WEIGHT_DECAY = 5   /**< >= 0, default 0: L2 added to the gradient */
} ae_optimizer_param;

/** Adam as PyTorch's torch.optim.Adam (bias-corrected moments).
 * @param[out] out the new optimizer
 * @param learning_rate > 0
 * @return AE_OK, or AE_ERR_INVALID_ARGUMENT for a bad learning rate */
AE_API ae_status ae_optimizer_create_adam(ae_optimizer **out,
                                          float learning_rate);
/** AdamW as torch.optim.AdamW: Adam with the weight decay decoupled from
 * the gradient (w *= 1 - lr * weight_decay, then Adam's step on the
 * gradient alone; PyTorch's default weight decay is 0.01).  Checkpoints
 * store it as optimizer kind 3.  Since 0.2.
 * @param[out] out the new optimizer
 * @param learning_rate > 0 and finite
 * @param weight_decay >= 0 and finite
 * @return AE_OK, or AE_ERR_INVALID_ARGUMENT for a learning rate that is not
 *         positive and finite or a weight decay that is not finite and >= 0 */
AE_API ae_status ae_optimizer_create_adamw(ae_optimizer **out,
                                           float learning_rate,
                                           float weight_decay);
/** SGD with momentum as torch.optim.SGD (v = mu v + g; w -= lr v).
 * @param[out] out the new optimizer
 * @param learning_rate > 0
 * @param momentum mu, in [0, 1)
 * @return AE_OK, or AE_ERR_INVALID_ARGUMENT for a value out of range */
AE_API ae_status ae_optimizer_create_sgd(ae_optimizer **out,
                                         float learning_rate, float momentum);
/** Free an optimizer; NULL is accepted.
 * @param opt the optimizer */
AE_API void ae_optimizer_free(ae_optimizer *opt);
/** Set one hyperparameter.
 * @param opt the optimizer
 * @param p which one
 * @param value its new value, in the range of ae_optimizer_param
 * @return AE_OK, or AE_ERR_INVALID_ARGUMENT for an unknown parameter (or
 *         one of another optimizer kind) or a value out of range */
AE_API ae_status ae_optimizer_set(ae_optimizer *opt, ae_optimizer_param p,
                                  double value);
/** Read one hyperparameter.
 * @param opt the optimizer
 * @param p which one
 * @param[out] value its value
 * @return AE_OK, or AE_ERR_INVALID_ARGUMENT for an unknown parameter */
AE_API ae_status ae_optimizer_get(const ae_optimizer *opt,
                                  ae_optimizer_param p, double *value);
/** Forget the moments and the step count.
 * @param opt the optimizer
 * @return AE_OK, or AE_ERR_NULL */
AE_API ae_status ae_optimizer_reset(ae_optimizer *opt);
/** @} */

/* ------------------------------------------------------------------------ */
/* Training                                                                  */
/* ------------------------------------------------------------------------ */
/** @defgroup training Training
 * @{ */

/** Trains a model with an optimizer: the loss, noise, batch and checkpoint
 * settings, and where a fit call stands. */
typedef struct ae_trainer ae_trainer;

/** The losses the library computes. */
typedef enum ae_loss {
    AE_LOSS_MSE = 0, /**< mean over all values of (y - t)^2 */
    AE_LOSS_BCE = 1  /**< mean of -(t log y + (1-t) log(1-y)), logs >= -100 */
} ae_loss;

/** Settings of a trainer (ae_trainer_set); each is stored in checkpoints
 * unless it says otherwise. */
typedef enum ae_train_param {
    AE_TRAIN_LOSS = 0,        /**< an ae_loss, default AE_LOSS_MSE */
    AE_TRAIN_L1_CODE = 1,     /**< lambda >= 0: adds lambda * sum |code| over
                                 the batch (experiment 3), default 0 */
    AE_TRAIN_NOISE = 2,       /**< an ae_noise applied to inputs, targets stay
                                 clean, default AE_NOISE_NONE */
    AE_TRAIN_NOISE_LEVEL = 3, /**< >= 0, default 0 */
    AE_TRAIN_BATCH_SIZE = 4,  /**< >= 1, default 64 */
    AE_TRAIN_SHUFFLE = 5,     /**< 0 or 1, default 1 */
    AE_TRAIN_SEED = 6,        /**< shuffling and noise, default 0 */
    AE_TRAIN_RANGE = 7        /**< an ae_pixel_range: noise is clipped to it;
                                 ae_trainer_fit sets it from the training
                                 data, default AE_RANGE_UNIT */,
    AE_TRAIN_L1_PER_IMAGE = 8, /**< 0 or 1, default 0.  1 divides the L1 term
                                 by the batch size: lambda * sum |code| /
                                 batch, so lambda means the same at any
                                 batch size (since 0.1) */
    AE_TRAIN_CHECKPOINT_EVERY = 9 /**< a whole number in [0, 2^53], default 0
                                 (off).  N >= 1: ae_trainer_fit writes a
                                 checkpoint to the path given by
                                 ae_trainer_set_checkpoint_path after every
                                 N-th batch of the fit call (counted from
                                 the call's first epoch, so a resumed call
                                 keeps the rhythm) and at the end of every
                                 epoch (since 0.1) */,
    AE_TRAIN_RANK = 10,       /**< data-parallel training: this worker's
                                 number, 0 .. workers - 1, default 0; used
                                 only with a reduction installed (since
                                 0.2).  Not stored in checkpoints: it is
                                 where a trainer runs, not how it trains */
    AE_TRAIN_WORKERS = 11,    /**< the number of workers, >= 1, default 1
                                 (since 0.2; not stored in checkpoints) */
    AE_TRAIN_KL_BETA = 12,    /**< beta >= 0 (finite), default 1: the weight
                                 of the KL term of a model with a Gaussian
                                 sampling layer (a beta-VAE for beta != 1;
                                 see "Variational autoencoders").  No effect
                                 on other models.  Since 0.2 */
    AE_TRAIN_SUM_PER_IMAGE = 13, /**< 0 or 1, default 0.  1 sums the
                                 reconstruction loss over each image's values
                                 and averages it over the images (BCE summed
                                 per image, as in Kingma and Welling),
                                 instead of averaging over every value; the
                                 KL term follows the same reduction.  The L1
                                 term is unchanged.  Since 0.2 */
    /* Training controls (since 0.2): see "Training controls" below. */
    AE_TRAIN_LR_SCHEDULE = 14, /**< an ae_lr_schedule, default
                                 AE_SCHEDULE_NONE.  Setting it (to any
                                 value) restarts the schedule: the next
                                 step starts it from the optimizer's
                                 learning rate (since 0.2) */
    AE_TRAIN_LR_STEP_SIZE = 15, /**< AE_SCHEDULE_STEP: epochs between two
                                 decays, a whole number in [1, 2^31 - 1],
                                 default 1 (since 0.2) */
    AE_TRAIN_LR_GAMMA = 16,   /**< AE_SCHEDULE_STEP and _EXPONENTIAL: the
                                 factor of each decay, > 0 and finite,
                                 default 0.1 (since 0.2) */
    AE_TRAIN_LR_T_MAX = 17,   /**< AE_SCHEDULE_COSINE: epochs from the base
                                 rate down to the minimum, a whole number
                                 in [1, 2^31 - 1], default 10 (since 0.2) */
    AE_TRAIN_LR_MIN = 18,     /**< the lowest rate: cosine annealing's
                                 eta_min and reduce-on-plateau's min_lr,
                                 >= 0 and finite, default 0 (since 0.2) */
    AE_TRAIN_PLATEAU_FACTOR = 19, /**< AE_SCHEDULE_PLATEAU: the rate is
                                 multiplied by it, in (0, 1), default 0.1
                                 (since 0.2) */
    AE_TRAIN_PLATEAU_PATIENCE = 20, /**< AE_SCHEDULE_PLATEAU: epochs without
                                 improvement tolerated before a reduction,
                                 a whole number in [0, 2^31 - 1], default
                                 10 (since 0.2) */
    AE_TRAIN_PLATEAU_THRESHOLD = 21, /**< AE_SCHEDULE_PLATEAU: an epoch
                                 improves when its loss is below best x
                                 (1 - threshold), in [0, 1), default 1e-4
                                 (since 0.2) */
    AE_TRAIN_PLATEAU_COOLDOWN = 22, /**< AE_SCHEDULE_PLATEAU: epochs after a
                                 reduction whose losses are not judged, a
                                 whole number in [0, 2^31 - 1], default 0
                                 (since 0.2) */
    AE_TRAIN_EARLY_STOP_PATIENCE = 23, /**< early stopping: 0 (the default)
                                 is off; N >= 1 (a whole number up to
                                 2^31 - 1) stops ae_trainer_fit after N
                                 epochs in a row without improvement of the
                                 validation loss, restoring the best
                                 epoch's weights (since 0.2) */
    AE_TRAIN_EARLY_STOP_MIN_DELTA = 24, /**< early stopping: an epoch
                                 improves when its validation loss plus
                                 this is below the best so far (Keras's
                                 min_delta), >= 0 and finite, default 0
                                 (since 0.2) */
    AE_TRAIN_CLIP_NORM = 25   /**< > 0: every step scales the gradient to
                                 an L2 norm of at most this, as
                                 ae_model_clip_gradients does (with
                                 workers, the summed gradient); 0 (the
                                 default) is off; finite (since 0.2) */
} ae_train_param;

/** What the fit callback is told.  Filled by the library; `size` is
 * sizeof(ae_progress) of the library that filled it, so later versions can
 * append fields. */
typedef struct ae_progress {
    size_t size;          /**< sizeof(ae_progress) of the library */
    int epoch;            /**< 1-based */
    int epochs;           /**< epochs of the fit call */
    size_t batch;         /**< 1-based batch within the epoch */
    size_t batches;       /**< batches per epoch */
    int epoch_done;       /**< 1 on the call after the epoch's last batch */
    double loss;          /**< batch: its loss; epoch_done: the epoch's mean */
    double val_loss;      /**< epoch_done with validation data, else NaN */
    double seconds;       /**< since the fit call started */
} ae_progress;

/** The callback of ae_trainer_fit.  It runs between steps: it may run
 * forward passes on the model being trained (ae_model_reconstruct,
 * ae_model_activations, to measure quality per epoch), but must not change
 * its layers or weights, nor free the model, optimizer or trainer.  At the
 * end of the epoch where early stopping ends the fit, the best epoch's
 * weights are already back and ae_trainer_fit_outcome says
 * AE_FIT_EARLY_STOPPED (since 0.2).
 * @param p where the training stands
 * @param user the pointer given to ae_trainer_fit
 * @return 0 to go on, non-zero to stop training after this call */
typedef int (*ae_progress_fn)(const ae_progress *p, void *user);

/** A trainer borrows model and optimizer, which must outlive it.
 * @param[out] out the new trainer
 * @param m the model it trains
 * @param opt the optimizer it steps
 * @return AE_OK, or a failure status */
AE_API ae_status ae_trainer_create(ae_trainer **out, ae_model *m,
                                   ae_optimizer *opt);
/** Free a trainer (not its model or optimizer); NULL is accepted.
 * @param t the trainer */
AE_API void ae_trainer_free(ae_trainer *t);
/** Change one setting.
 * @param t the trainer
 * @param p which one
 * @param value its new value, in the range of ae_train_param
 * @return AE_OK, or AE_ERR_INVALID_ARGUMENT for an unknown setting or a
 *         value out of range */
AE_API ae_status ae_trainer_set(ae_trainer *t, ae_train_param p, double value);
/** Read one setting.
 * @param t the trainer
 * @param p which one
 * @param[out] value its value
 * @return AE_OK, or AE_ERR_INVALID_ARGUMENT for an unknown setting */
AE_API ae_status ae_trainer_get(const ae_trainer *t, ae_train_param p,
                                double *value);

/** One optimisation step on `batch` images.  target may be NULL (= input).
 * Input noise, if set, is applied to a copy of input.  *loss (may be NULL)
 * receives the batch loss including the L1 term (and, for a model with a
 * Gaussian sampling layer, beta times the KL term; ae_trainer_last_terms
 * gives the terms apart).  A NaN or infinite loss
 * returns AE_ERR_NOT_FINITE and leaves the weights as they were.
 * @param t the trainer
 * @param input batch * ae_model_input_size floats
 * @param target as many floats, or NULL to train towards input
 * @param batch number of images, >= 1
 * @param[out] loss the batch loss, or NULL
 * @return AE_OK, or a failure status */
AE_API ae_status ae_trainer_step(ae_trainer *t, const float *input,
                                 const float *target, size_t batch,
                                 float *loss);
/** Train for `epochs` epochs on train; after each epoch, the loss on
 * validation (may be NULL) is computed.  progress (may be NULL) is called
 * after every batch and at each epoch's end.  Since 0.2 each epoch's end
 * also steps the learning-rate schedule and judges early stopping, which
 * needs validation (AE_ERR_INVALID_ARGUMENT without, before any step) and
 * may end the call early ("Training controls").
 * @param t the trainer
 * @param train the training images
 * @param validation images for the validation loss, or NULL
 * @param epochs number of epochs, >= 1
 * @param progress the callback, or NULL
 * @param user passed to progress
 * @return AE_OK (also when progress or early stopping stopped it), or a
 *         failure status */
AE_API ae_status ae_trainer_fit(ae_trainer *t, const ae_dataset *train,
                                const ae_dataset *validation, int epochs,
                                ae_progress_fn progress, void *user);
/** Mean loss over ds without training, with the trainer's loss and L1 term
 * (and a VAE's KL term, from one sample of eps per image drawn from a
 * fixed seed) and, if noise is set, inputs corrupted from a fixed seed.
 * @param t the trainer
 * @param ds the images
 * @param[out] loss the mean loss
 * @return AE_OK, or a failure status */
AE_API ae_status ae_trainer_evaluate(ae_trainer *t, const ae_dataset *ds,
                                     double *loss);

/** @defgroup data_parallel Data-parallel training
 * @ingroup training
 * Several processes (or machines) train one model together: each worker
 * runs a trainer over the same model, seeds and data set, and the trainer
 * sums what must agree through a reduction the caller installs
 * (libautoenc-mpi binds it to MPI_Allreduce; any transport will do).
 *
 * With AE_TRAIN_WORKERS w and AE_TRAIN_RANK r, every step (ae_trainer_step,
 * and each batch of ae_trainer_fit, whose batch order comes from the
 * shared seed exactly as one process would draw it) takes the whole global
 * batch of `count` images, corrupts it as one process would, and trains
 * on images [count r / w, count (r + 1) / w) of it.  Its loss gradient is
 * scaled by its share of the images, so that the sum over workers is the
 * gradient one process would compute for the whole batch (to float
 * rounding).  The trainer then calls the reduction once on the whole
 * gradient array (ae_model_param_count floats, in one contiguous call),
 * and once on the loss (one float: the workers' shares sum to the batch's
 * loss), before the optimizer steps; with batch normalisation, once more
 * per batch-norm layer after the update, on its running statistics (see
 * "Batch normalisation, dropout and the mode").  Every worker so steps with the same
 * summed gradient and keeps the same weights.  A NaN on any worker reaches
 * every worker through the sum, and each stops with AE_ERR_NOT_FINITE,
 * its weights as they were.
 *
 * Checkpoints: worker 0 alone writes them (ae_trainer_fit skips the write
 * on the others, which need no checkpoint path); a checkpoint holds no
 * rank, so every worker resumes from the same file.  Worker 0's
 * ae_trainer_save_checkpoint is the one to call by hand.
 *
 * Evaluation (the validation loss of a fit) runs on every worker over the
 * whole set, with no reduction.  Without a reduction installed, nothing of
 * this applies: the same bits as a trainer that never heard of it.
 * @{ */

/** Sum n floats in place across every worker (an all-reduce): on return
 * data holds, on every worker, the element-wise sum of all workers' data.
 * Since 0.2.
 * @param data n floats, replaced by their sum over the workers
 * @param n their number
 * @param user the pointer given to ae_trainer_set_reduce
 * @return AE_OK, or a status (the trainer's call then fails with it; a
 *         transport that cannot reach a worker should return AE_ERR_IO
 *         rather than wait forever) */
typedef ae_status (*ae_reduce_fn)(float *data, size_t n, void *user);

/** Install (or, with fn NULL, remove) the reduction of data-parallel
 * training; user is passed to fn.  Since 0.2.
 * @param t the trainer
 * @param fn the reduction, or NULL
 * @param user passed to fn
 * @return AE_OK, or AE_ERR_NULL for t */
AE_API ae_status ae_trainer_set_reduce(ae_trainer *t, ae_reduce_fn fn,
                                       void *user);
/** @} */

/** @defgroup training_controls Training controls
 * @ingroup training
 * Learning-rate schedules, early stopping and gradient clipping: trainer
 * settings (AE_TRAIN_LR_*, AE_TRAIN_PLATEAU_*, AE_TRAIN_EARLY_STOP_*,
 * AE_TRAIN_CLIP_NORM), stored in checkpoints with the state they carry
 * from epoch to epoch, so that a resumed fit goes on bit for bit.
 *
 * Schedules follow torch.optim.lr_scheduler (StepLR, ExponentialLR,
 * CosineAnnealingLR, ReduceLROnPlateau in mode "min" with a relative
 * threshold and eps 1e-8), stepped once at the end of every epoch of
 * ae_trainer_fit, and give PyTorch's rates bit for bit.  A schedule starts
 * at the trainer's first step after AE_TRAIN_LR_SCHEDULE was set, from the
 * optimizer's AE_OPT_LEARNING_RATE then (its base rate), and runs across
 * fit calls as one PyTorch scheduler would; the optimizer's own setting
 * is left as it was (ae_optimizer_step still uses it), and the rate of the
 * trainer's steps is ae_trainer_learning_rate.  Reduce-on-plateau judges
 * the validation loss when ae_trainer_fit has a validation set, else the
 * epoch's mean training loss.
 *
 * Early stopping needs a validation set (ae_trainer_fit refuses to run
 * without one while it is on) and belongs to one fit call: a new call
 * starts it afresh, a resumed one goes on.  When it stops the fit, the
 * weights of the best epoch are put back (the optimizer's moments are
 * not), before the callback's epoch_done call for that epoch, in which
 * ae_trainer_fit_outcome already says AE_FIT_EARLY_STOPPED; the fit then
 * returns AE_OK.  A fit that runs all its epochs keeps its last weights.
 *
 * With a reduction installed (data-parallel training), the loss judged
 * at each epoch's end is agreed through it: every worker sends its own
 * exactly, and all judge their mean (each one's, when they agree), so
 * every worker steps its schedule and stops at the same epoch.  Since 0.2.
 * @{ */

/** The learning-rate schedules (AE_TRAIN_LR_SCHEDULE).  Since 0.2. */
typedef enum ae_lr_schedule {
    AE_SCHEDULE_NONE = 0,        /**< the optimizer's rate throughout */
    AE_SCHEDULE_STEP = 1,        /**< StepLR: times gamma every step size
                                    epochs */
    AE_SCHEDULE_EXPONENTIAL = 2, /**< ExponentialLR: times gamma every
                                    epoch */
    AE_SCHEDULE_COSINE = 3,      /**< CosineAnnealingLR: from the base rate
                                    down to AE_TRAIN_LR_MIN over T_max
                                    epochs along half a cosine, and back up
                                    over the next T_max, as PyTorch does */
    AE_SCHEDULE_PLATEAU = 4      /**< ReduceLROnPlateau: times the factor
                                    after more than patience epochs without
                                    improvement, never below
                                    AE_TRAIN_LR_MIN */
} ae_lr_schedule;

/** How the latest fit call ended (ae_trainer_fit_outcome).  Since 0.2. */
typedef enum ae_fit_end {
    AE_FIT_NONE = 0,          /**< no fit call yet (or the trainer was
                                 loaded from a checkpoint) */
    AE_FIT_RUNNING = 1,       /**< asked from the callback of a fit under
                                 way */
    AE_FIT_COMPLETED = 2,     /**< it ran all its epochs */
    AE_FIT_STOPPED = 3,       /**< its callback returned non-zero */
    AE_FIT_EARLY_STOPPED = 4, /**< early stopping ended it and restored the
                                 best epoch's weights (also stored in
                                 checkpoints: such a call resumes nothing) */
    AE_FIT_FAILED = 5         /**< it returned a failure status */
} ae_fit_end;

/** How and when the latest fit call ended, and its best validation loss.
 * May be called from the fit's callback: at the epoch_done call of the
 * epoch where early stopping ends the fit it already gives
 * AE_FIT_EARLY_STOPPED, the best weights back in the model.  Since 0.2.
 * @param t the trainer
 * @param[out] end how it ended, or NULL
 * @param[out] epochs epochs the call completed, counted from its start
 *        (the interrupted call's, for a resumed one), or NULL
 * @param[out] best_epoch with early stopping on, the epoch (1-based in the
 *        call) of the lowest validation loss so far, else 0; or NULL
 * @param[out] best_loss that loss, or NaN when best_epoch is 0; or NULL
 * @return AE_OK, or AE_ERR_NULL for t */
AE_API ae_status ae_trainer_fit_outcome(const ae_trainer *t, ae_fit_end *end,
                                        int *epochs, int *best_epoch,
                                        double *best_loss);

/** The learning rate of the trainer's next step: the schedule's current
 * rate, or the optimizer's AE_OPT_LEARNING_RATE when no schedule is set
 * or it has not started yet.  Since 0.2.
 * @param t the trainer
 * @param[out] lr the rate
 * @return AE_OK, or AE_ERR_NULL for t or lr */
AE_API ae_status ae_trainer_learning_rate(const ae_trainer *t, double *lr);
/** @} */

/** @defgroup checkpoints Checkpoints
 * @ingroup training
 * A checkpoint holds everything a training needs to go on exactly as if it
 * had never stopped: the model (architecture and weights), the optimizer
 * (kind, hyperparameters, step count, moments), the trainer's settings
 * (every ae_train_param), its noise generator, and where its fit call
 * stands (epochs done, batches done in the epoch under way and the loss
 * summed over them, and the seed, batch size and image count that fix the
 * order of the batches); since 0.2 (checkpoint version 2, which also
 * reads version 1) the training controls' state too: the schedule's
 * position and rate, early stopping's best loss, epoch and weights.
 * Format: docs/FORMAT.md, "Checkpoint files".
 *
 * Resuming: load the checkpoint into a trainer over a model of the same
 * architecture and an optimizer of the same kind (fresh ones will do),
 * then call ae_trainer_fit with the same training data and the `epochs`
 * of the interrupted call.  That call finishes the interrupted epoch and
 * runs the rest: weights, optimizer state and noise come out bit for bit
 * as in a training that never stopped (same thread count, see
 * ae_set_threads), and the callback sees the same epoch and batch numbers
 * and losses.  `epochs` counts from the start of the interrupted call; a
 * larger value trains longer.  A checkpoint of a finished fit call (or
 * taken outside any) resumes nothing: the next fit call starts afresh, as
 * on the trainer that saved it.
 * @{ */

/** Write t's checkpoint to path.  The file is written to a temporary file
 * beside path (`path.tmp.<pid>.<n>`), synced and renamed into place, so path
 * always holds either its old content or the complete checkpoint; a
 * process killed while saving may leave that temporary file behind, never
 * a partial path.  May be called from a fit callback.  Since 0.1.
 * @param t the trainer
 * @param path the file
 * @return AE_OK, or
 * AE_ERR_NULL for t or path; AE_ERR_INVALID_ARGUMENT for an empty path;
 * AE_ERR_NOT_FINITE for a NaN or infinite weight or a NaN moment;
 * AE_ERR_SHAPE if the optimizer holds state for another parameter count;
 * AE_ERR_LIMIT beyond the format's limits; AE_ERR_NO_MEMORY; AE_ERR_IO
 * naming path and the system's reason. */
AE_API ae_status ae_trainer_save_checkpoint(const ae_trainer *t,
                                            const char *path);

/** Restore the checkpoint at path into t, its model and its optimizer: the
 * weights, the optimizer's kind-specific state and hyperparameters, the
 * trainer's settings (every ae_train_param, AE_TRAIN_CHECKPOINT_EVERY
 * included; the checkpoint path stays t's own) and the fit position.
 * After a successful load, a fit call that resumes the checkpoint's fit
 * call must use a training set of the same size and unchanged batch size,
 * shuffle and seed settings (AE_ERR_INVALID_ARGUMENT otherwise).
 * Since 0.1.
 * @param t the trainer
 * @param path the file
 * @return AE_OK, or (with t, its model and its optimizer unchanged):
 * AE_ERR_NULL for t or path; AE_ERR_SHAPE if the checkpoint's model
 * differs from t's in input shape or in any layer's kind, part,
 * configuration or activation; AE_ERR_INVALID_ARGUMENT if its optimizer
 * is of another kind (Adam vs SGD); AE_ERR_IO, AE_ERR_FORMAT (truncated or
 * malformed, or inconsistent values), AE_ERR_CHECKSUM (CRC mismatch),
 * AE_ERR_UNSUPPORTED (newer version), AE_ERR_LIMIT, AE_ERR_NOT_FINITE or
 * AE_ERR_NO_MEMORY, the message naming path, offset and field. */
AE_API ae_status ae_trainer_load_checkpoint(ae_trainer *t, const char *path);

/** Where ae_trainer_fit writes checkpoints when AE_TRAIN_CHECKPOINT_EVERY is
 * set (each one replacing the last, atomically).  The string is copied;
 * NULL forgets the path.  A fit call with checkpoints on and no path is
 * AE_ERR_INVALID_ARGUMENT; a checkpoint that cannot be written stops the
 * fit with its error.  Since 0.1.
 * @param t the trainer
 * @param path the file, or NULL
 * @return AE_OK, or AE_ERR_NULL for t,
 * AE_ERR_INVALID_ARGUMENT for an empty path, AE_ERR_NO_MEMORY (the old
 * path is then kept). */
AE_API ae_status ae_trainer_set_checkpoint_path(ae_trainer *t,
                                                const char *path);
/** @} */

/** @defgroup step_by_step Training step by step
 * @ingroup training
 * The calls ae_trainer_step is made of, for a loss of your own (a penalty
 * on the code, a total-variation term, a VAE's KL term):
 *
 *     ae_model_zero_gradients(m);
 *     ae_model_forward_train(m, x, batch, &y, &code);   keeps what backward
 *                                                       needs
 *     ... your loss L(y, code), its gradients dL/dy (batch * input_size
 *     floats) and, if L reads the code, dL/dcode (batch * code_size) ...
 *     ae_model_backward(m, dL_dy, dL_dcode, 0);          adds dL/dparameters
 *     ae_optimizer_step(opt, m);                         one update from them
 *
 * The arrays: y and code are the model's output and code for the batch,
 * images one after another as everywhere; gradients have the same shapes
 * as what they are gradients of.  ae_loss_compute gives the library's own
 * losses and their gradients, so a step written this way with MSE or BCE
 * (and an L1 term as dL/dcode = lambda * sign(code)) gives the same bits
 * as ae_trainer_step.
 *
 * Lifetimes: y and code are the model's own buffers, valid until the next
 * call that runs the model's layers (any forward call, ae_model_encode,
 * _decode, _reconstruct, _activations, _mean_activation, a trainer's step,
 * fit or evaluate), a layer added, or ae_model_free.  After any of those,
 * ae_model_backward refuses with AE_ERR_BAD_STATE.  The input is copied,
 * so the caller may reuse it at once.
 *
 * Gradients accumulate: each ae_model_backward adds to the model's
 * gradient array, which only ae_model_zero_gradients clears (a trainer
 * step writes it afresh).  Several backward calls after one forward pass
 * add up, as loss.backward() twice does in PyTorch.  The optimizer reads
 * the gradient array as it stands.  All since 0.2.
 * @{ */

/** Flags of ae_model_backward and ae_loss_compute.  Since 0.2. */
typedef enum ae_grad_flags {
    /** The output gradient is with respect to the last layer's input to
     * its activation (its pre-activation), not its output: BCE after a
     * Sigmoid gives the simple, exact (y - t) / n this way, which is what
     * ae_trainer_step uses. */
    AE_GRAD_PREACTIVATION = 1
} ae_grad_flags;

/** A training-mode forward pass of batch images through every layer,
 * keeping each layer's output for ae_model_backward.  *output (required)
 * receives the reconstruction, batch * input_size floats; *code (may be
 * NULL) the code, batch * code_size floats; both borrowed (lifetimes
 * above).  Since 0.2.
 * @param m the model
 * @param input batch * ae_model_input_size floats
 * @param batch number of images, >= 1
 * @param[out] output the reconstruction, borrowed
 * @param[out] code the code, borrowed; or NULL
 * @return AE_OK, or AE_ERR_NULL, AE_ERR_INVALID_ARGUMENT for
 * batch 0 (or, in training mode, a batch giving a batch-norm layer one
 * value per channel), AE_ERR_SHAPE for an incomplete model,
 * AE_ERR_NOT_FINITE for NaN or infinity in the input, AE_ERR_NO_MEMORY. */
AE_API ae_status ae_model_forward_train(ae_model *m, const float *input,
                                        size_t batch, const float **output,
                                        const float **code);
/** Back through every layer of the latest ae_model_forward_train: add the
 * gradients of the loss with respect to every parameter to the model's
 * gradient array, given grad_output, dL/d(output) (batch * input_size
 * floats; with AE_GRAD_PREACTIVATION, dL/d(pre-activation) instead) and
 * grad_code, dL/d(code) added where the code is (batch * code_size
 * floats, or NULL).  On failure the gradients are as before.
 * Since 0.2.
 * @param m the model
 * @param grad_output gradient with respect to the output
 * @param grad_code gradient with respect to the code, or NULL
 * @param flags 0 or AE_GRAD_PREACTIVATION
 * @return AE_OK, or AE_ERR_NULL;
 * AE_ERR_INVALID_ARGUMENT for unknown flags; AE_ERR_BAD_STATE when no
 * training pass's buffers are there to go back through; AE_ERR_NOT_FINITE
 * for NaN or infinity in a gradient given; AE_ERR_NO_MEMORY (the first
 * time gradients accumulate). */
AE_API ae_status ae_model_backward(ae_model *m, const float *grad_output,
                                   const float *grad_code, unsigned flags);
/** Set every parameter gradient to 0.  Since 0.2.
 * @param m the model
 * @return AE_OK, or AE_ERR_NULL */
AE_API ae_status ae_model_zero_gradients(ae_model *m);
/** Copy the ae_model_param_count gradients out, in the order of the
 * parameters: layer by layer, each layer's weights (in the layouts of
 * ae_layer_get_weights) then its biases.  Since 0.2.
 * @param m the model
 * @param[out] grads n floats
 * @param n ae_model_param_count
 * @return AE_OK, or AE_ERR_SHAPE if n is not the parameter count */
AE_API ae_status ae_model_get_gradients(const ae_model *m, float *grads,
                                        size_t n);
/** Scale the gradient array so that its L2 norm (over every parameter) is
 * at most max_norm, as torch.nn.utils.clip_grad_norm_ does: by max_norm /
 * (norm + 1e-6) when that is below 1, else not at all.  Since 0.2.
 * @param m the model
 * @param max_norm the largest norm, > 0 and finite
 * @param[out] norm the norm before clipping, or NULL
 * @return AE_OK, AE_ERR_INVALID_ARGUMENT for a
 * max_norm that is not positive and finite; AE_ERR_NOT_FINITE, nothing
 * scaled, when the norm is not finite. */
AE_API ae_status ae_model_clip_gradients(ae_model *m, double max_norm,
                                         double *norm);
/** One update of m's parameters by opt from m's gradient array (Adam's or
 * SGD's rule, the optimizer's step count advancing).  Since 0.2.
 * @param opt the optimizer
 * @param m the model
 * @return AE_OK, AE_ERR_NOT_FINITE,
 * with the parameters and the optimizer untouched, if a gradient is NaN
 * or infinite; AE_ERR_SHAPE if opt has stepped a model of another
 * parameter count (reset it with ae_optimizer_reset). */
AE_API ae_status ae_optimizer_step(ae_optimizer *opt, ae_model *m);
/** The library's loss `kind` of n outputs against n targets, mean-reduced
 * as PyTorch's MSELoss and BCELoss: *loss, and its gradient with respect
 * to each output into grad (n floats; with AE_GRAD_PREACTIVATION, BCE
 * only, with respect to the pre-activation of a Sigmoid that made the
 * outputs).  On failure nothing is written.  Since 0.2.
 * @param kind AE_LOSS_MSE or AE_LOSS_BCE
 * @param output n values
 * @param target n values
 * @param n their number, >= 1
 * @param flags 0 or AE_GRAD_PREACTIVATION
 * @param[out] grad n floats of gradient
 * @param[out] loss the loss
 * @return AE_OK, or AE_ERR_NULL; AE_ERR_INVALID_ARGUMENT for an
 * unknown kind or flag, n 0, or (BCE) an output or target outside
 * [0, 1], as PyTorch's BCELoss refuses them; AE_ERR_NOT_FINITE for NaN or
 * infinity among the outputs or targets. */
AE_API ae_status ae_loss_compute(ae_loss kind, const float *output,
                                 const float *target, size_t n,
                                 unsigned flags, float *grad, double *loss);
/** @} */
/** @} */

/* ------------------------------------------------------------------------ */
/* Variational autoencoders                                                  */
/* ------------------------------------------------------------------------ */
/** @defgroup vae Variational autoencoders
 * A variational autoencoder (Kingma and Welling) is an autoencoder whose
 * encoder gives, per image, the mean mu and the log-variance logvar of a
 * diagonal Gaussian over k latent values, and whose code is a sample of
 * it.  Here the encoder's last layer is a Gaussian sampling layer
 * (ae_model_add_gaussian_sample): its input is 2k values per image, the k
 * means first and then the k log-variances, and its output, the code, k:
 *
 *     training passes:   z = mu + exp(logvar / 2) * eps,  eps ~ N(0, I)
 *     every other pass:  z = mu
 *
 * Training passes are a trainer's steps (ae_trainer_step, ae_trainer_fit
 * and ae_trainer_evaluate, which estimates the loss with one sample per
 * image) and ae_model_forward_train; ae_model_encode, _reconstruct,
 * _activations and the metrics give mu.
 *
 * Where eps comes from.  Each training pass draws eps for image b, unit j
 * as the (b k + j)-th standard normal of a generator, images in order:
 *   - a trainer's steps draw from the trainer's generator, seeded by
 *     AE_TRAIN_SEED and stored in checkpoints, so a resumed training
 *     draws what an unbroken one would; ae_trainer_evaluate draws from a
 *     generator seeded afresh from AE_TRAIN_SEED at each call, so that its
 *     losses compare across epochs; in data-parallel training worker r
 *     takes the eps one process would draw for its slice of the batch;
 *   - ae_model_forward_train draws from the model's own generator, seeded
 *     from the model's seed when it is created (or loaded) and by
 *     ae_model_set_sample_seed.  Calling ae_model_set_sample_seed with the
 *     same seed before each forward pass holds eps fixed: a gradient check
 *     by finite differences does so.
 *
 * The loss.  The KL divergence of q = N(mu, exp(logvar)) to N(0, I),
 *
 *     KL = -0.5 * sum_j (1 + logvar_j - mu_j^2 - exp(logvar_j)),
 *
 * summed over the image's k units, is added to the reconstruction loss
 * with the weight AE_TRAIN_KL_BETA (default 1), in the reduction the
 * reconstruction loss has: per image and averaged over the batch with
 * AE_TRAIN_SUM_PER_IMAGE (then, with BCE and beta 1, the loss is the
 * negative ELBO per image), or divided further by the image size
 * without it.  Driving the model step by step, ae_model_set_kl_weight
 * sets the weight with which ae_model_backward adds the KL term's
 * gradient, and ae_model_kl_divergence gives its value.
 *
 * The terms apart: ae_trainer_last_terms gives the reconstruction and KL
 * terms of the latest step (in a fit callback: the batch just trained,
 * or at an epoch's end the epoch's means and the validation set's), and
 * ae_trainer_evaluate_terms those of a data set.
 *
 * Generating: ae_model_generate decodes codes drawn from N(0, I).
 * All since 0.2.
 * @{ */

/** Append the Gaussian sampling (reparameterisation) layer, which must be
 * the last layer of the encoder: its output is the code.  Its input, the
 * previous layer's output flattened, is 2k values per image: the k means,
 * then the k log-variances (typically one linear dense layer of 2k units
 * before it); its output is k x 1 x 1, z = mu + exp(logvar / 2) * eps in
 * training passes and mu in the others (the group's introduction says
 * which is which and where eps comes from).  It has no parameters.  With
 * it the trainer adds the KL term (AE_TRAIN_KL_BETA).  PyTorch:
 * `mu, logvar = h.chunk(2, dim=1); z = mu + torch.exp(0.5 * logvar) *
 * eps`.  Since 0.2.
 * @param m the model
 * @param part AE_ENCODER (the code is the encoder's output)
 * @return AE_OK, or AE_ERR_NULL for m; AE_ERR_INVALID_ARGUMENT for a part
 * other than AE_ENCODER, or a model that has a sampling layer already;
 * AE_ERR_SHAPE for an odd number of inputs (or fewer than 2).  After it, adding another encoder
 * layer is AE_ERR_INVALID_ARGUMENT: the sampling layer is where the code
 * is.  A failing add leaves the model as it was. */
AE_API ae_status ae_model_add_gaussian_sample(ae_model *m, ae_part part);

/** Reseed the model's own generator of eps, which ae_model_forward_train
 * draws from (not a trainer: it has its own).  Since 0.2.
 * @param m the model
 * @param seed the new seed; the same seed gives the same eps
 * @return AE_OK, or AE_ERR_NULL for m */
AE_API ae_status ae_model_set_sample_seed(ae_model *m, uint64_t seed);

/** The weight with which ae_model_backward adds the gradient of the KL
 * term, summed over the batch's images, at the sampling layer: weight *
 * dKL/d(mu, logvar).  For a loss of mean reduction pass beta / (batch *
 * input_size); for one summed per image and averaged over the batch, beta /
 * batch.  Default 0 (no KL gradient); a model without a sampling layer
 * ignores it.  A trainer uses its own weight and leaves this one as it
 * is.  Since 0.2.
 * @param m the model
 * @param weight >= 0 and finite
 * @return AE_OK, or AE_ERR_NULL for m, AE_ERR_INVALID_ARGUMENT for a
 * negative or non-finite weight */
AE_API ae_status ae_model_set_kl_weight(ae_model *m, double weight);

/** The KL divergence to N(0, I) of the latest ae_model_forward_train,
 * summed over its batch's images (the formula above).  Since 0.2.
 * @param m the model
 * @param[out] kl the sum over the batch
 * @return AE_OK, or AE_ERR_NULL; AE_ERR_INVALID_ARGUMENT if the model
 * has no sampling layer; AE_ERR_BAD_STATE if no training pass's buffers
 * are there (as ae_model_backward) */
AE_API ae_status ae_model_kl_divergence(const ae_model *m, double *kl);

/** Generate n images: draw n codes of ae_model_code_size values from
 * N(0, I), from a generator seeded with seed alone (the same seed gives
 * the same images), and decode them as ae_model_decode does.  Meant for a
 * model with a sampling layer, whose training pulls its codes towards
 * N(0, I); any complete model is accepted.  Since 0.2.
 * @param m the model
 * @param seed of the codes
 * @param n number of images, >= 1
 * @param[out] out n * ae_model_input_size floats
 * @return AE_OK, or AE_ERR_NULL; AE_ERR_INVALID_ARGUMENT for n 0;
 * AE_ERR_SHAPE for an incomplete model; AE_ERR_LIMIT; AE_ERR_NO_MEMORY.
 * On failure out is unspecified. */
AE_API ae_status ae_model_generate(ae_model *m, uint64_t seed, size_t n,
                                   float *out);

/** The terms of a loss, as a trainer computes them (ae_trainer_last_terms,
 * ae_trainer_evaluate_terms).  Each is in the loss's reduction (see
 * AE_TRAIN_SUM_PER_IMAGE) and loss = reconstruction + beta * kl + l1.
 * Since 0.2. */
typedef struct ae_loss_terms {
    double loss;           /**< the whole loss, as ae_trainer_step gives */
    double reconstruction; /**< the reconstruction term (MSE or BCE) */
    double kl;             /**< the KL term before beta: 0 without a
                                sampling layer */
    double l1;             /**< the L1 code penalty, weighted */
} ae_loss_terms;

/** The terms of the loss the trainer reported last.  After ae_trainer_step,
 * and in a fit callback after a batch, *train holds that batch's; in a fit
 * callback at an epoch's end, the epoch's means over its batches (as
 * ae_progress's loss) and, when the fit has validation data, *validation
 * the validation set's (ae_progress's val_loss).  Before any step, and
 * *validation when none was computed, every term is NaN.  In
 * data-parallel training the terms are this worker's shares of the batch's
 * (they sum over the workers to the batch's), the loss the summed one.
 * Since 0.2.
 * @param t the trainer
 * @param[out] train the training terms, or NULL
 * @param[out] validation the validation terms, or NULL
 * @return AE_OK, or AE_ERR_NULL for t */
AE_API ae_status ae_trainer_last_terms(const ae_trainer *t,
                                       ae_loss_terms *train,
                                       ae_loss_terms *validation);

/** ae_trainer_evaluate with the terms apart: their means over ds.
 * Since 0.2.
 * @param t the trainer
 * @param ds the images
 * @param[out] terms the mean terms
 * @return AE_OK, or the failures of ae_trainer_evaluate */
AE_API ae_status ae_trainer_evaluate_terms(ae_trainer *t,
                                           const ae_dataset *ds,
                                           ae_loss_terms *terms);
/** @} */

/* ------------------------------------------------------------------------ */
/* Metrics                                                                   */
/* ------------------------------------------------------------------------ */
/** @defgroup metrics Metrics
 * @{ */

/** Accumulates reconstruction metrics over batches of image pairs. */
typedef struct ae_metrics ae_metrics;

/** The metrics ae_metrics_value gives. */
typedef enum ae_metric {
    AE_METRIC_MSE = 0,  /**< mean squared error over every value */
    /** binary cross-entropy, test as prediction, reference as target, logs
     * clamped at >= -100 (torch.nn.BCELoss); needs every test value in
     * [0, 1], else ae_metrics_value refuses it (AE_ERR_INVALID_ARGUMENT) */
    AE_METRIC_BCE = 1,
    /** mean over images of 10 log10(range^2 / mse of the image), each image
     * capped at 100 dB: identical images count 100 dB (skimage: inf) */
    AE_METRIC_PSNR = 2,
    /** mean over images (and channels) of mean SSIM, as skimage's
     * structural_similarity with data_range = range (images must be at
     * least as large as the window, else AE_ERR_SHAPE) */
    AE_METRIC_SSIM = 3
} ae_metric;

/** The window of AE_METRIC_SSIM. */
typedef enum ae_ssim_window {
    /** scikit-image's structural_similarity defaults: 7x7 uniform window,
     * sample covariance */
    AE_SSIM_UNIFORM7 = 0,
    /** Wang et al. 2004: 11x11 Gaussian window, sigma 1.5, population
     * covariance (skimage: gaussian_weights=True, sample covariance off) */
    AE_SSIM_GAUSSIAN11 = 1
} ae_ssim_window;

/** Accumulates metrics over batches of images of the given shape whose
 * values span data_range (1 for [0,1], 2 for [-1,1]; > 0 and finite).
 * Sums are kept in double, so any split into batches gives the same
 * values.  The SSIM window defaults to AE_SSIM_UNIFORM7.
 * @param[out] out the new accumulator
 * @param channels channels per image, >= 1
 * @param height rows per image, >= 1
 * @param width columns per image, >= 1
 * @param data_range hi - lo of the values, > 0 and finite
 * @return AE_OK, or AE_ERR_INVALID_ARGUMENT for a value out of range */
AE_API ae_status ae_metrics_create(ae_metrics **out, int channels, int height,
                                   int width, float data_range);
/** Free an accumulator; NULL is accepted.
 * @param mt the accumulator */
AE_API void ae_metrics_free(ae_metrics *mt);
/** Choose the SSIM window; once images were added, only after a reset
 * (AE_ERR_BAD_STATE otherwise).
 * @param mt the accumulator
 * @param window the window
 * @return AE_OK, AE_ERR_INVALID_ARGUMENT for an unknown window, or
 *         AE_ERR_BAD_STATE */
AE_API ae_status ae_metrics_set_ssim_window(ae_metrics *mt,
                                            ae_ssim_window window);
/** Add `batch` image pairs.  A NaN or infinity in either array gives
 * AE_ERR_NOT_FINITE and adds nothing.
 * @param mt the accumulator
 * @param reference batch images, the originals
 * @param test batch images, their reconstructions
 * @param batch number of pairs
 * @return AE_OK, or one of the codes above */
AE_API ae_status ae_metrics_update(ae_metrics *mt, const float *reference,
                                   const float *test, size_t batch);
/** Value over everything added since creation or the last reset
 * (AE_ERR_INVALID_ARGUMENT while nothing was added).
 * @param mt the accumulator
 * @param which the metric
 * @param[out] value its value
 * @return AE_OK, or one of the codes above (and of ae_metric) */
AE_API ae_status ae_metrics_value(const ae_metrics *mt, ae_metric which,
                                  double *value);
/** Number of images added since creation or the last reset.
 * @param mt the accumulator
 * @return the count (0 for NULL) */
AE_API size_t ae_metrics_count(const ae_metrics *mt);
/** Forget every image added; the shape, range and window stay.
 * @param mt the accumulator; NULL is accepted */
AE_API void ae_metrics_reset(ae_metrics *mt);
/** @} */

/* ------------------------------------------------------------------------ */
/* PCA                                                                       */
/* ------------------------------------------------------------------------ */
/** @defgroup pca PCA
 * @{ */

/** A principal component analysis: its settings and, after a fit, its
 * components, mean and variances. */
typedef struct ae_pca ae_pca;

/** A PCA of `components` components (>= 1).
 * @param[out] out the new PCA
 * @param components number of components, >= 1
 * @return AE_OK, or AE_ERR_INVALID_ARGUMENT for components < 1 */
AE_API ae_status ae_pca_create(ae_pca **out, int components);
/** Free a PCA; NULL is accepted.
 * @param p the PCA */
AE_API void ae_pca_free(ae_pca *p);
/** Fit on n rows of d floats (n >= 2, components <= min(n, d)).  The
 * covariance (n - 1 denominator) is accumulated in double and decomposed
 * by LAPACKE's SVD.  A failed fit leaves the previous one in place.  The
 * other calls below need a fit first (AE_ERR_BAD_STATE).
 * @param p the PCA
 * @param x n rows of d floats, row-major
 * @param n rows, >= 2
 * @param d values per row
 * @return AE_OK, or a failure status (AE_ERR_NUMERIC if the SVD did not
 *         converge) */
AE_API ae_status ae_pca_fit(ae_pca *p, const float *x, size_t n, size_t d);
/** Fit on every image of ds, converted batch by batch.
 * @param p the PCA
 * @param ds the images, in their pixel range
 * @return AE_OK, or the codes of ae_pca_fit */
AE_API ae_status ae_pca_fit_dataset(ae_pca *p, const ae_dataset *ds);
/** Project n rows of d floats to n x components.
 * @param p the fitted PCA
 * @param x n rows of ae_pca_dim floats
 * @param n number of rows
 * @param[out] codes n rows of ae_pca_components floats
 * @return AE_OK, or a failure status */
AE_API ae_status ae_pca_transform(const ae_pca *p, const float *x, size_t n,
                                  float *codes);
/** Map n rows of components back to n x d (the reconstruction).
 * @param p the fitted PCA
 * @param codes n rows of ae_pca_components floats
 * @param n number of rows
 * @param[out] x n rows of ae_pca_dim floats
 * @return AE_OK, or a failure status */
AE_API ae_status ae_pca_inverse_transform(const ae_pca *p, const float *codes,
                                          size_t n, float *x);
/** Dimension d of the fitted data.
 * @param p the PCA
 * @return d (0 before a fit, or for NULL) */
AE_API size_t ae_pca_dim(const ae_pca *p);
/** Component count.
 * @param p the PCA
 * @return the components of ae_pca_create (0 for NULL) */
AE_API int ae_pca_components(const ae_pca *p);
/** @name Fitted values
 * Components (components x d, rows of unit length, sign fixed so the largest
 * absolute entry is positive), mean (d), explained variance and its ratio
 * (components each).  Explained variance is the covariance eigenvalue (n - 1
 * denominator, as sklearn); the ratio divides it by the total variance.
 * n must equal the count (AE_ERR_SHAPE otherwise).
 * @{ */
/** The components, row by row.
 * @param p the fitted PCA
 * @param[out] out n floats
 * @param n components * d
 * @return AE_OK, or one of the codes above */
AE_API ae_status ae_pca_get_components(const ae_pca *p, float *out, size_t n);
/** The mean of the fitted data.
 * @param p the fitted PCA
 * @param[out] out n floats
 * @param n d
 * @return AE_OK, or one of the codes above */
AE_API ae_status ae_pca_get_mean(const ae_pca *p, float *out, size_t n);
/** The variance along each component.
 * @param p the fitted PCA
 * @param[out] out n values
 * @param n components
 * @return AE_OK, or one of the codes above */
AE_API ae_status ae_pca_explained_variance(const ae_pca *p, double *out,
                                           size_t n);
/** The share of the total variance along each component.
 * @param p the fitted PCA
 * @param[out] out n values
 * @param n components
 * @return AE_OK, or one of the codes above */
AE_API ae_status ae_pca_explained_variance_ratio(const ae_pca *p, double *out,
                                                 size_t n);
/** @} */

/** How a fit finds the components.  Since 0.2. */
typedef enum ae_pca_solver {
    /** The covariance in double and LAPACK's SVD of it: exact to rounding.
     * The default. */
    AE_PCA_EXACT = 0,
    /** A randomized SVD (Halko, Martinsson and Tropp, 2011) of the centred
     * data, in float, streaming the rows: faster on large n, and
     * approximate.  Each power iteration is one pass over the rows; the
     * range kept is the block Krylov space of every pass (Rokhlin, Szlam
     * and Tygert, 2009), which contains Halko's.  Memory: O(d (components
     * + oversamples) (power iterations + 64)) beyond a few hundred rows
     * per thread, never n x d.  Bound, tested on MNIST and Fashion-MNIST with 30
     * components and the defaults below: the reconstruction MSE is
     * within 1e-5 of the exact solver's, and every explained variance
     * within 1% of it.  The result depends on the seed, not on the thread
     * count. */
    AE_PCA_RANDOMIZED = 1
} ae_pca_solver;

/** Settings of a PCA (ae_pca_set).  Since 0.2. */
typedef enum ae_pca_param {
    AE_PCA_SOLVER = 0,           /**< an ae_pca_solver, default AE_PCA_EXACT */
    AE_PCA_OVERSAMPLES = 1,      /**< randomized: extra directions, 0..1000,
                                    default 18 */
    AE_PCA_POWER_ITERATIONS = 2, /**< randomized: 0..100, default 2 */
    AE_PCA_SEED = 3              /**< randomized: of the Gaussian test
                                    matrix, a whole number 0..2^53,
                                    default 0 */
} ae_pca_param;

/** Set a parameter; the next fit uses it.  AE_ERR_INVALID_ARGUMENT
 * for an unknown parameter or a value out of its range (nothing changes).
 * Since 0.2.
 * @param p the PCA
 * @param param which one
 * @param value its new value
 * @return AE_OK, or one of the codes above */
AE_API ae_status ae_pca_set(ae_pca *p, ae_pca_param param, double value);
/** Read a parameter.  Since 0.2.
 * @param p the PCA
 * @param param which one
 * @param[out] value its value
 * @return AE_OK, or AE_ERR_INVALID_ARGUMENT for an unknown parameter */
AE_API ae_status ae_pca_get(const ae_pca *p, ae_pca_param param,
                            double *value);
/** @} */

/* ------------------------------------------------------------------------ */
/* t-SNE                                                                     */
/* ------------------------------------------------------------------------ */
/** @defgroup tsne t-SNE
 * @{ */

/** Exact t-SNE (van der Maaten and Hinton, 2008) to draw codes as a 2-D or
 * 3-D map: input affinities p_ij from Gaussian kernels whose widths give
 * each point the chosen perplexity, map affinities q_ij from a Student-t
 * kernel, and gradient descent on KL(P || Q) with early exaggeration,
 * momentum and per-coordinate gains, as the reference implementation.
 * Every pair of points is used (no Barnes-Hut approximation), so time per
 * iteration grows as n^2 and n is limited to AE_TSNE_MAX_POINTS.  Memory:
 * 4 n^2 bytes for P (100 MB at n = 5,000), plus 8 n d bytes for a centred
 * copy of the input, 512 n bytes of distance workspace and O(n) more.  The
 * library's threads (ae_set_threads) share the rows; BLAS computes the
 * distances.  Results depend only on the input, the parameters and the
 * seed, bit for bit, for the same thread count; the library's own sums do
 * not depend on the thread count at all (BLAS's have not been seen to). */
typedef struct ae_tsne ae_tsne;

/** Largest number of points ae_tsne_run accepts.  Since 0.1. */
#define AE_TSNE_MAX_POINTS 5000

/** Parameters of a t-SNE (ae_tsne_set). */
typedef enum ae_tsne_param {
    /** effective number of neighbours, >= 1, default 30; ae_tsne_run also
     * needs 3 * perplexity <= n - 1 */
    AE_TSNE_PERPLEXITY = 0,
    /** gradient steps, a whole number in [1, 1000000], default 1000 */
    AE_TSNE_ITERATIONS = 1,
    /** step size eta, > 0 and <= 1e6, default 200 */
    AE_TSNE_LEARNING_RATE = 2,
    /** factor on P during the first iterations, in [1, 1000], default 12 */
    AE_TSNE_EARLY_EXAGGERATION = 3,
    /** initial map, a whole number in [0, 2^53], default 0 */
    AE_TSNE_SEED = 4,
    /** how many of the first iterations exaggerate P and use momentum 0.5
     * (0.8 after), a whole number in [0, 1000000], default 250 */
    AE_TSNE_EXAGGERATION_ITERATIONS = 5
} ae_tsne_param;

/** A t-SNE to out_dims dimensions (2 or 3, else AE_ERR_INVALID_ARGUMENT)
 * with the default parameters.  Since 0.1.
 * @param[out] out the new t-SNE
 * @param out_dims 2 or 3
 * @return AE_OK, or one of the codes above */
AE_API ae_status ae_tsne_create(ae_tsne **out, int out_dims);
/** Free a t-SNE; NULL is accepted.  Since 0.1.
 * @param t the t-SNE */
AE_API void ae_tsne_free(ae_tsne *t);
/** Set one parameter; a value out of its range or an unknown
 * parameter is AE_ERR_INVALID_ARGUMENT and changes nothing.  Since 0.1.
 * @param t the t-SNE
 * @param p which one
 * @param value its new value
 * @return AE_OK, or one of the codes above */
AE_API ae_status ae_tsne_set(ae_tsne *t, ae_tsne_param p, double value);
/** Read one parameter; an unknown parameter is AE_ERR_INVALID_ARGUMENT.
 * Since 0.1.
 * @param t the t-SNE
 * @param p which one
 * @param[out] value its value
 * @return AE_OK, or one of the codes above */
AE_API ae_status ae_tsne_get(const ae_tsne *t, ae_tsne_param p,
                             double *value);

/** Embed n rows of d floats (x, row-major) into y (n x out_dims floats,
 * row-major).  Affinities use squared Euclidean distances between rows,
 * computed in double.  The map starts from N(0, (1e-4)^2) draws of the
 * seed and is centred after every step.  On failure y is not written.
 * Since 0.1.
 * @param t the t-SNE
 * @param x n rows of d floats
 * @param n number of points, 4 .. AE_TSNE_MAX_POINTS
 * @param d values per point, >= 1
 * @param[out] y n rows of out_dims floats
 * @return AE_OK, or: n < 4 or d = 0:
 * AE_ERR_INVALID_ARGUMENT; n > AE_TSNE_MAX_POINTS: AE_ERR_LIMIT;
 * perplexity too large for n (3 * perplexity > n - 1):
 * AE_ERR_INVALID_ARGUMENT; a NaN or infinity in x, or a map that diverged
 * (learning rate far too large): AE_ERR_NOT_FINITE; AE_ERR_NO_MEMORY. */
AE_API ae_status ae_tsne_run(ae_tsne *t, const float *x, size_t n, size_t d,
                             float *y);
/** KL(P || Q) of the map of the last successful ae_tsne_run, in nats
 * (AE_ERR_BAD_STATE before one).  Since 0.1.
 * @param t the t-SNE
 * @param[out] kl the divergence
 * @return AE_OK, or one of the codes above */
AE_API ae_status ae_tsne_kl_divergence(const ae_tsne *t, double *kl);
/** @} */

/* ------------------------------------------------------------------------ */
/* Pictures                                                                  */
/* ------------------------------------------------------------------------ */
/** @defgroup pictures Pictures
 * PNG pictures written from images, filters and activations, and datasets
 * read from folders of PNG images.
 * @{ */

/** Write `count` tiles as one PNG picture, a grid of min(cols, count)
 * columns and ceil(count / cols) rows, tile k at row k / cols, column
 * k % cols.  Each tile is channels x height x width floats (the library's
 * image layout), so tiles holds count * channels * height * width floats.
 * channels 1 gives a grayscale picture, 3 an RGB one (planes R, G, B).
 * Other channel counts (a conv layer's C feature maps, say) are drawn one
 * gray tile per channel: pass the same array with channels 1 and count * C
 * tiles.  Filters: dense weights from ae_layer_get_weights (out x in) are
 * `out` tiles of the input's shape, so a 784-input layer's rows are 28 x 28
 * tiles; conv2d weights (out_c x in_c x k x k) are out_c * in_c gray k x k
 * tiles.
 *
 * Values: with lo < hi, v is drawn as 255 * (v - lo) / (hi - lo) rounded
 * to the nearest integer and clipped to 0..255 (data in [0, 1]: lo 0,
 * hi 1; in [-1, 1]: lo -1, hi 1).  With lo >= hi, each tile is stretched
 * to its own range instead, its smallest value (over all its channels)
 * black and its largest white; a constant tile is mid-gray (128).  That
 * suits filters and activations, whose ranges are arbitrary.
 *
 * Layout: each tile pixel becomes a scale x scale block (scale 1..16; 2
 * makes 28 x 28 digits 56 x 56, large enough to see).  Tiles are separated
 * from each other and from the picture's edge by 2 pixels of mid-gray
 * (128), which also fills the empty cells of the last row.  So the picture
 * is 2 + cols' * (width * scale + 2) pixels wide and 2 + rows * (height *
 * scale + 2) high, cols' = min(cols, count); each side may be at most
 * 32768 pixels (AE_ERR_LIMIT).  8 bits per sample, no interlacing.
 *
 * The picture is written to a temporary file beside path, synced and
 * renamed into place, so path always holds either its old content or the
 * complete picture; a replaced file keeps its permissions.  The caller
 * keeps ownership of tiles, which is only read.  Since 0.1.
 *
 * @param path the PNG file
 * @param tiles count * channels * height * width floats
 * @param count number of tiles, >= 1
 * @param cols tiles per row, >= 1
 * @param channels 1 or 3
 * @param height rows per tile, 1..4096
 * @param width columns per tile, 1..4096
 * @param lo value drawn black (with lo < hi)
 * @param hi value drawn white (lo >= hi: each tile stretched)
 * @param scale pixels per tile pixel, 1..16
 * @return AE_OK, or: AE_ERR_NULL for path or tiles; AE_ERR_INVALID_ARGUMENT
 * for an empty path, count 0, cols < 1, channels other than 1 or 3, height
 * or width outside 1..4096, scale outside 1..16, or lo or hi not finite;
 * AE_ERR_NOT_FINITE if a tile holds a NaN or an infinity (naming the tile);
 * AE_ERR_LIMIT for a picture too large; AE_ERR_IO naming path and the
 * system's reason when the file cannot be created, written or renamed (no
 * temporary file is left behind). */
AE_API ae_status ae_image_grid_write_png(const char *path, const float *tiles,
                                         size_t count, int cols, int channels,
                                         int height, int width, float lo,
                                         float hi, int scale);

/** Write one image as a PNG picture of exactly height x width pixels: no
 * gaps, no border, no scaling, so a folder of them is what
 * ae_dataset_load_png_folder reads (one subfolder per class).  pixels is
 * channels x height x width floats (the library's image layout); channels
 * 1 gives a grayscale picture, 3 an RGB one (planes R, G, B).
 *
 * Values as ae_image_grid_write_png's: with lo < hi, v is drawn as
 * 255 * (v - lo) / (hi - lo) rounded to the nearest integer and clipped to
 * 0..255, so an image from ae_dataset_batch (AE_RANGE_UNIT: lo 0, hi 1;
 * AE_RANGE_SYMMETRIC: lo -1, hi 1) is written back as its exact 8-bit
 * pixels.  With lo >= hi, the image is stretched to its own range (its
 * smallest value over all channels black, its largest white; a constant
 * image is mid-gray, 128).  8 bits per sample, no interlacing.
 *
 * The picture is written to a temporary file beside path, synced and
 * renamed into place, so path always holds either its old content or the
 * complete picture; a replaced file keeps its permissions.  The caller
 * keeps ownership of pixels, which is only read.
 * Since 0.1.
 *
 * @param path the PNG file
 * @param pixels channels * height * width floats
 * @param channels 1 or 3
 * @param height rows, 1..4096
 * @param width columns, 1..4096
 * @param lo value drawn black (with lo < hi)
 * @param hi value drawn white (lo >= hi: the image stretched)
 * @return AE_OK, or: AE_ERR_NULL for path or pixels;
 * AE_ERR_INVALID_ARGUMENT for an empty path, channels other than 1 or 3,
 * height or width outside 1..4096, or lo or hi not finite;
 * AE_ERR_NOT_FINITE if a pixel is a NaN or an infinity (naming it);
 * AE_ERR_IO naming path and the system's reason when the file cannot be
 * created, written or renamed (no temporary file is left behind). */
AE_API ae_status ae_image_write_png(const char *path, const float *pixels,
                                    int channels, int height, int width,
                                    float lo, float hi);

/** Load a folder of PNG images, one subfolder per class, laid out as
 * torchvision's ImageFolder reads it:  `dir/<class>/<image>.png`.
 *
 * Classes: every subfolder of dir whose name does not start with '.' (at
 * most 256, else AE_ERR_LIMIT).  Labels are the classes' positions in
 * byte-wise (strcmp) order of their names, as Python's sorted() gives, so
 * they match ImageFolder's; mind that "10" sorts before "2".
 * ae_dataset_class_name gives a label's folder name.
 * Images: in each class folder, every regular file whose name ends in
 * ".png" (in any case) and does not start with '.'.  Other files (a README,
 * Thumbs.db) and deeper folders are ignored; symbolic links are followed.
 * Order: class by class, and by file name (strcmp) within a class, so a
 * folder always loads the same way.
 *
 * Each image becomes one channel of 8-bit gray through libpng's
 * transformations: palette and 1-, 2- and 4-bit images are expanded,
 * 16-bit samples scaled to 8 bits (rounded), colour turned to gray as
 * PIL's convert("L") and torchvision's Grayscale do (0.299 R + 0.587 G +
 * 0.114 B of the stored values; gAMA, sRGB and cHRM chunks are ignored, so
 * the result is within 1 of a PyTorch pipeline's), and alpha dropped, not
 * composited.  8-bit gray images are kept exactly.  Ancillary chunks
 * (text, profiles, palettes of suggestions) are skipped unread, whatever
 * length they declare.  The pixels are copied into the dataset
 * (AE_RANGE_UNIT, labels present); nothing stays open.  Since 0.1.
 *
 * @param[out] out the new dataset (free it with ae_dataset_free)
 * @param dir the folder of class folders
 * @return AE_OK with *out a new dataset the caller frees with
 * ae_dataset_free, or (with *out NULL): AE_ERR_NULL for out or dir;
 * AE_ERR_INVALID_ARGUMENT for an empty dir; AE_ERR_IO naming the folder or
 * file that cannot be opened, listed or read (a missing dir, say);
 * AE_ERR_FORMAT for a dir without class subfolders, a class folder without
 * .png files (every class needs an image), or a .png file that is not a
 * complete, valid PNG (naming it and libpng's reason); AE_ERR_SHAPE for
 * images of different sizes, naming the offending file, the first file and
 * both sizes; AE_ERR_LIMIT for an image side over 4096 pixels or more than
 * 10,000,000 images. */
AE_API ae_status ae_dataset_load_png_folder(ae_dataset **out, const char *dir);

/** Number of named classes: for a dataset from ae_dataset_load_png_folder
 * (and its subsets and splits), its class count.  Since 0.1.
 * @param ds the dataset
 * @return the class count; 0 for other datasets and for NULL */
AE_API size_t ae_dataset_class_count(const ae_dataset *ds);
/** Name of class `label` (its folder's name) into *name.  The string is
 * borrowed: it stays valid until ds is freed.  *name is untouched on
 * failure.  Since 0.1.
 * @param ds the dataset
 * @param label the class, 0 .. ae_dataset_class_count(ds) - 1
 * @param[out] name its folder's name, borrowed
 * @return AE_OK, or
 * AE_ERR_NULL for ds or name, AE_ERR_UNSUPPORTED for a dataset without
 * class names (from IDX files, say), AE_ERR_INVALID_ARGUMENT for a label
 * outside 0 .. ae_dataset_class_count(ds) - 1. */
AE_API ae_status ae_dataset_class_name(const ae_dataset *ds, int label,
                                       const char **name);
/** @} */

/* ------------------------------------------------------------------------ */
/* NumPy arrays                                                              */
/* ------------------------------------------------------------------------ */
/** @defgroup npy NumPy arrays
 * Arrays in NumPy's .npy format, so that codes, reconstructions and labels
 * go to NumPy as np.load(path) reads them, and arrays made in NumPy come
 * back.  Files are written in format version 1.0, little-endian, C order,
 * exactly as np.save writes them; versions 1.0, 2.0 and 3.0 are read.
 * Elements are float32 ('<f4') or uint8 ('|u1'; labels, pixels).  Values
 * are stored as they are, NaN and infinity included.  Since 0.2.
 * @{ */

/** Element type of an array.  Since 0.2. */
typedef enum ae_npy_type {
    AE_NPY_F32 = 1, /**< float, NumPy's '<f4' */
    AE_NPY_U8 = 2   /**< uint8_t, NumPy's '|u1' */
} ae_npy_type;

/** Most dimensions an array may have.  Since 0.2. */
#define AE_NPY_MAX_DIMS 8

/** Write the array at data (shape[0] x ... x shape[ndim-1] elements of
 * `type`, C order: the last index varies fastest) to path.  ndim 0 is a
 * scalar (one element; shape may then be NULL); a dimension may be 0.  The
 * file is written to a temporary file beside path, synced and renamed into
 * place, so path always holds its old content or the complete array.
 * Since 0.2.
 * @param path the .npy file
 * @param type the element type
 * @param data the elements
 * @param shape ndim sizes (NULL allowed for ndim 0)
 * @param ndim number of dimensions, 0 .. AE_NPY_MAX_DIMS
 * @return AE_OK, or: AE_ERR_NULL for path, data or (ndim > 0) shape;
 * AE_ERR_INVALID_ARGUMENT for an empty path, an unknown type or ndim
 * outside 0 .. AE_NPY_MAX_DIMS; AE_ERR_LIMIT when the shape's product
 * overflows; AE_ERR_IO naming path and the system's reason (no temporary
 * file is left behind). */
AE_API ae_status ae_npy_save(const char *path, ae_npy_type type,
                             const void *data, const size_t *shape, int ndim);
/** The same into memory.  *size (required) always receives the file's
 * size, even when the call fails because capacity is too small
 * (AE_ERR_INVALID_ARGUMENT, nothing written); call with buffer NULL and
 * capacity 0 to learn it.  Since 0.2.
 * @param type the element type
 * @param data the elements
 * @param shape ndim sizes (NULL allowed for ndim 0)
 * @param ndim number of dimensions, 0 .. AE_NPY_MAX_DIMS
 * @param[out] buffer capacity bytes, or NULL with capacity 0
 * @param capacity bytes available at buffer
 * @param[out] size the file's size
 * @return AE_OK, or the codes of ae_npy_save but AE_ERR_IO */
AE_API ae_status ae_npy_save_memory(ae_npy_type type, const void *data,
                                    const size_t *shape, int ndim,
                                    void *buffer, size_t capacity,
                                    size_t *size);

/** An array read from a .npy file: its element type, shape and elements,
 * owned by the handle.  Since 0.2. */
typedef struct ae_npy ae_npy;

/** Read a .npy file.  A truncated, corrupted or hostile file gives an
 * error, never a crash.  On failure *out is NULL.  Since 0.2.
 * @param[out] out the array
 * @param path the .npy file
 * @return AE_OK, or: AE_ERR_FORMAT for a missing magic, a malformed
 * header (naming the offset of the byte at fault) or data shorter or
 * longer than the shape needs; AE_ERR_UNSUPPORTED for another format
 * version, an element type other than float32 and uint8, or a Fortran-order
 * array of two or more dimensions; AE_ERR_LIMIT for more than
 * AE_NPY_MAX_DIMS dimensions, a shape whose product overflows, or a file
 * over 16 GiB; AE_ERR_IO naming path; AE_ERR_NO_MEMORY. */
AE_API ae_status ae_npy_load(ae_npy **out, const char *path);
/** The same from size bytes in memory (copied: data may go once this
 * returns).  Since 0.2.
 * @param[out] out the array
 * @param data the bytes of a .npy file
 * @param size their number
 * @return AE_OK, or the codes of ae_npy_load but AE_ERR_IO */
AE_API ae_status ae_npy_load_memory(ae_npy **out, const void *data,
                                    size_t size);
/** Free an array; NULL is accepted.  Since 0.2.
 * @param a the array */
AE_API void ae_npy_free(ae_npy *a);
/** Element type.  Since 0.2.
 * @param a the array
 * @return its type (0 for NULL) */
AE_API ae_npy_type ae_npy_element_type(const ae_npy *a);
/** Number of dimensions.  Since 0.2.
 * @param a the array
 * @return the count (0 for a scalar or NULL) */
AE_API int ae_npy_ndim(const ae_npy *a);
/** Size of dimension axis.  Since 0.2.
 * @param a the array
 * @param axis 0 .. ndim-1
 * @return the size (0 outside 0 .. ndim-1 or for NULL) */
AE_API size_t ae_npy_dim(const ae_npy *a, int axis);
/** Number of elements.  Since 0.2.
 * @param a the array
 * @return the product of the shape (1 for a scalar; 0 for NULL) */
AE_API size_t ae_npy_count(const ae_npy *a);
/** The elements, ae_npy_count of them, as float (AE_NPY_F32) or uint8_t
 * (AE_NPY_U8), C order; borrowed: valid until the array is freed.
 * Since 0.2.
 * @param a the array
 * @return the elements (NULL for NULL) */
AE_API const void *ae_npy_data(const ae_npy *a);
/** @} */

#ifdef __cplusplus
}
#endif

#endif /* AUTOENC_H */
