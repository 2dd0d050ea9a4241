/* trainer_settings.h - the trainer's fields (private): its settings, kept
 * by trainer_settings.c, and the state of its fit call, which trainer.c
 * advances and checkpoint.c saves and restores. */
#ifndef AE_TRAINER_SETTINGS_H
#define AE_TRAINER_SETTINGS_H

#include "common/internal.h"
#include "train/early_stop.h"
#include "train/schedule.h"

/* The fit call in progress, or the last one: what a checkpoint needs to
 * continue it where it stood.  Epoch numbers count over every fit call
 * (ae_trainer's epochs_done). */
typedef struct ae__fit_run {
    uint64_t start;      /* epochs_done when the call began */
    uint64_t epochs;     /* epochs it asked for; 0: no fit call yet */
    uint64_t images;     /* training images */
    uint64_t batch_size; /* its settings, which fix the batches' order */
    uint64_t seed;
    uint32_t shuffle;
    uint64_t batch;      /* batches done of the epoch under way */
    uint64_t seen;       /* images in them */
    double loss_sum;     /* sum over them of batch loss x batch images */
    /* The same sums of the loss's terms (ae_loss_terms), for the epoch's
     * means of ae_trainer_last_terms. */
    double recon_sum, kl_sum, l1_sum;
} ae__fit_run;

struct ae_trainer {
    ae_model *model;
    ae_optimizer *opt;

    ae_loss loss;
    float l1_code;
    int l1_per_image;     /* divide the L1 term by the batch size */
    ae_noise noise;
    float noise_level;
    size_t batch_size;
    int shuffle;
    uint64_t seed;
    ae_pixel_range range;
    uint64_t checkpoint_every; /* batches between checkpoints; 0: none */
    int rank, workers;         /* data-parallel position */
    ae_reduce_fn reduce;       /* NULL: one process */
    void *reduce_user;
    char *checkpoint_path;     /* from ae__alloc, or NULL */

    ae__rng noise_rng;
    uint64_t epochs_done; /* over every fit call: each epoch its own order */
    ae__fit_run run;
    int resume;           /* set by loading a checkpoint: the next fit call
                             continues run if it is unfinished */

    /* Variational autoencoders: the KL term's weight and reduction, the
     * generator of the steps' eps, the terms last reported. */
    float kl_beta;
    int sum_per_image;
    ae__rng sample_rng;
    ae_loss_terms last, last_val;
    /* Training controls (since 0.2): the learning-rate schedule's
     * settings and state (schedule.c), early stopping's (early_stop.c),
     * gradient clipping, and how the latest fit call ended. */
    ae__schedule sched;
    ae__schedule_state sched_state;
    ae__early_stop es;
    double clip_norm;      /* 0: off */
    ae_fit_end fit_end;
    float *agree;          /* 4 x workers floats: the epoch's loss of
                              every worker, exchanged through reduce */
    size_t agree_cap;

    size_t cap;       /* images the buffers below hold */
    float *noisy;     /* corrupted inputs */
    float *dy;        /* loss gradient */
    float *images;    /* a batch of the dataset, for fit and evaluate */
};

/* The training controls' defaults (a fresh trainer, a version-1
 * checkpoint). */
void ae__trainer_controls_default(ae_trainer *t);
/* The learning rate of the trainer's next step (ae_trainer_learning_rate). */
double ae__trainer_lr(const ae_trainer *t);

/* Streams separate the generators drawn from one user seed. */
enum { AE__STREAM_NOISE = 0x401, AE__STREAM_EVAL = 0x402,
       AE__STREAM_SHUFFLE = 0x403, AE__STREAM_SAMPLE = 0x404,
       AE__STREAM_EVAL_SAMPLE = 0x405 };

/* Every term NaN: terms not computed yet. */
void ae__loss_terms_unknown(ae_loss_terms *terms);

/* Largest AE_TRAIN_SEED and AE_TRAIN_CHECKPOINT_EVERY: 2^53, exact in a
 * double. */
#define AE__TRAIN_WHOLE_MAX 9007199254740992.0

#endif /* AE_TRAINER_SETTINGS_H */
