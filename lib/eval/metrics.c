/* metrics.c - MSE, BCE, PSNR and SSIM accumulated over batches.
 *
 * Every sum is kept in double: per-image sums are formed first and then
 * added to the handle, so a batch that fails validation changes nothing. */
#include <math.h>
#include <string.h>

#include "common/finite.h"
#include "common/internal.h"
#include "eval/ssim.h"

/* Per-image PSNR is capped here: identical images would give +inf (as in
 * skimage), which would make the mean useless; 100 dB is mse = range^2 *
 * 1e-10, well above the PSNR of any lossy reconstruction. */
#define AE_PSNR_CAP_DB 100.0

struct ae_metrics {
    int channels, height, width;
    size_t image_size;  /* channels * height * width */
    size_t plane_size;  /* height * width */
    double data_range;
    ae_ssim_window window;
    ae__ssim_kernel kernel;
    double *work;       /* SSIM workspace, sized for the largest window */
    size_t count;       /* images added */
    double sum_sq;      /* sum of (test - reference)^2 over every value */
    double sum_bce;     /* sum of the clamped BCE terms */
    double sum_psnr;    /* sum of per-image PSNR (dB) */
    double sum_ssim;    /* sum of per-image mean SSIM */
    int bce_invalid;    /* some prediction lay outside [0, 1] */
};

ae_status ae_metrics_create(ae_metrics **out, int channels, int height,
                            int width, float data_range)
{
    AE_REQUIRE(out);
    *out = NULL;
    if (channels < 1 || height < 1 || width < 1)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "ae_metrics_create: image shape %dx%dx%d must be "
                        "positive", channels, height, width);
    if (!(data_range > 0.0f) || !isfinite(data_range))
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "ae_metrics_create: data_range %g must be positive "
                        "and finite", (double)data_range);
    size_t plane, image;
    if (!ae__mul_size((size_t)height, (size_t)width, &plane) ||
        !ae__mul_size(plane, (size_t)channels, &image))
        return ae__fail(AE_ERR_LIMIT,
                        "ae_metrics_create: image shape %dx%dx%d overflows",
                        channels, height, width);

    ae_metrics *mt;
    AE_ALLOC_OR_FAIL(mt, 1, "the metrics handle");
    mt->channels = channels;
    mt->height = height;
    mt->width = width;
    mt->plane_size = plane;
    mt->image_size = image;
    mt->data_range = (double)data_range;
    mt->window = AE_SSIM_UNIFORM7;
    (void)ae__ssim_kernel_init(&mt->kernel, AE_SSIM_UNIFORM7);

    /* Workspace for whichever window is chosen later: the 7-tap one needs
     * more (more window positions), but take the maximum to be safe. */
    ae__ssim_kernel g;
    (void)ae__ssim_kernel_init(&g, AE_SSIM_GAUSSIAN11);
    size_t need = ae__ssim_workspace(&mt->kernel, height, width);
    size_t need_g = ae__ssim_workspace(&g, height, width);
    if (need_g > need)
        need = need_g;
    if (need > 0) {
        mt->work = ae__calloc(need, sizeof(double));
        if (mt->work == NULL) {
            ae__free(mt);
            return ae__fail(AE_ERR_NO_MEMORY,
                            "ae_metrics_create: cannot allocate the SSIM "
                            "workspace (%zu doubles)", need);
        }
    }
    *out = mt;
    return AE_OK;
}

void ae_metrics_free(ae_metrics *mt)
{
    if (mt == NULL)
        return;
    ae__free(mt->work);
    ae__free(mt);
}

ae_status ae_metrics_set_ssim_window(ae_metrics *mt, ae_ssim_window window)
{
    AE_REQUIRE(mt);
    if (mt->count > 0 && window != mt->window)
        return ae__fail(AE_ERR_BAD_STATE,
                        "ae_metrics_set_ssim_window: %zu images were already "
                        "added with the other window; call ae_metrics_reset "
                        "first", mt->count);
    ae__ssim_kernel k;
    ae_status s = ae__ssim_kernel_init(&k, window);
    if (s != AE_OK)
        return s;
    mt->window = window;
    mt->kernel = k;
    return AE_OK;
}

/* 1 if the images are large enough for the current SSIM window. */
static int ssim_fits(const ae_metrics *mt)
{
    return mt->height >= mt->kernel.size && mt->width >= mt->kernel.size;
}

ae_status ae_metrics_update(ae_metrics *mt, const float *reference,
                            const float *test, size_t batch)
{
    AE_REQUIRE(mt);
    AE_REQUIRE(reference);
    AE_REQUIRE(test);
    size_t total;
    if (!ae__mul_size(batch, mt->image_size, &total))
        return ae__fail(AE_ERR_LIMIT,
                        "ae_metrics_update: batch %zu of %zu values overflows",
                        batch, mt->image_size);
    if (!ae__all_finite(reference, total))
        return ae__fail(AE_ERR_NOT_FINITE,
                        "ae_metrics_update: reference holds a NaN or infinity");
    if (!ae__all_finite(test, total))
        return ae__fail(AE_ERR_NOT_FINITE,
                        "ae_metrics_update: test holds a NaN or infinity");

    const double range2 = mt->data_range * mt->data_range;
    const int do_ssim = ssim_fits(mt);
    double sum_sq = 0, sum_bce = 0, sum_psnr = 0, sum_ssim = 0;
    int bce_invalid = 0;
    for (size_t i = 0; i < batch; i++) {
        const float *r = reference + i * mt->image_size;
        const float *t = test + i * mt->image_size;
        double sq = 0, bce = 0;
        for (size_t j = 0; j < mt->image_size; j++) {
            double y = t[j], target = r[j], e = y - target;
            sq += e * e;
            if (y < 0.0 || y > 1.0) {
                bce_invalid = 1;
                continue;
            }
            /* -(t log y + (1-t) log(1-y)), each log clamped at -100 like
             * torch.nn.BCELoss (log 0 = -inf -> -100) */
            double lp = y > 0.0 ? log(y) : -100.0;
            double lq = y < 1.0 ? log1p(-y) : -100.0;
            if (lp < -100.0)
                lp = -100.0;
            if (lq < -100.0)
                lq = -100.0;
            bce -= target * lp + (1.0 - target) * lq;
        }
        sum_sq += sq;
        sum_bce += bce;
        /* PSNR = 10 log10(R^2 / mse), capped (mse 0 gives the cap) */
        double mse = sq / (double)mt->image_size;
        double psnr = mse > 0.0 ? 10.0 * log10(range2 / mse) : AE_PSNR_CAP_DB;
        sum_psnr += psnr < AE_PSNR_CAP_DB ? psnr : AE_PSNR_CAP_DB;
        if (do_ssim) {
            double s = 0;
            for (int c = 0; c < mt->channels; c++)
                s += ae__ssim_plane(&mt->kernel, r + (size_t)c * mt->plane_size,
                                    t + (size_t)c * mt->plane_size, mt->height,
                                    mt->width, mt->data_range, mt->work);
            sum_ssim += s / (double)mt->channels;
        }
    }
    mt->count += batch;
    mt->sum_sq += sum_sq;
    mt->sum_bce += sum_bce;
    mt->sum_psnr += sum_psnr;
    mt->sum_ssim += sum_ssim;
    mt->bce_invalid |= bce_invalid;
    return AE_OK;
}

ae_status ae_metrics_value(const ae_metrics *mt, ae_metric which,
                           double *value)
{
    AE_REQUIRE(mt);
    AE_REQUIRE(value);
    if ((int)which < (int)AE_METRIC_MSE || (int)which > (int)AE_METRIC_SSIM)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "ae_metrics_value: %d is not an ae_metric", (int)which);
    if (mt->count == 0)
        return ae__fail(AE_ERR_INVALID_ARGUMENT,
                        "ae_metrics_value: no images added yet (since "
                        "creation or the last reset)");
    double n = (double)mt->count, values = n * (double)mt->image_size;
    switch (which) {
    case AE_METRIC_MSE:
        *value = mt->sum_sq / values;
        break;
    case AE_METRIC_BCE:
        if (mt->bce_invalid)
            return ae__fail(AE_ERR_INVALID_ARGUMENT,
                            "ae_metrics_value: BCE needs predictions (test) in "
                            "[0, 1], and some were outside");
        *value = mt->sum_bce / values;
        break;
    case AE_METRIC_PSNR:
        *value = mt->sum_psnr / n;
        break;
    case AE_METRIC_SSIM:
        if (!ssim_fits(mt))
            return ae__fail(AE_ERR_SHAPE,
                            "ae_metrics_value: images of %dx%d are smaller "
                            "than the %dx%d SSIM window",
                            mt->height, mt->width, mt->kernel.size,
                            mt->kernel.size);
        *value = mt->sum_ssim / n;
        break;
    }
    return AE_OK;
}

size_t ae_metrics_count(const ae_metrics *mt)
{
    return mt == NULL ? 0 : mt->count;
}

void ae_metrics_reset(ae_metrics *mt)
{
    if (mt == NULL)
        return;
    mt->count = 0;
    mt->sum_sq = mt->sum_bce = mt->sum_psnr = mt->sum_ssim = 0.0;
    mt->bce_invalid = 0;
}
