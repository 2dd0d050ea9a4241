/* test_crash_save.c - a process killed (SIGKILL) in the middle of saving
 * leaves the destination whole: the old file or the new one, never a mix
 * or a fragment.
 *
 * A child process saves two different models A and B (12.8 MB each,
 * so a save takes a while) to one path, alternately and without end; the
 * parent kills it after a random delay and checks that the path holds
 * exactly A's bytes or exactly B's, and that ae_model_load reads it.  Kills
 * land at random points of the save: while writing the temporary file,
 * syncing it, renaming it.  Temporary files a killed save leaves behind
 * (path.tmp.<pid>.<n>) are counted, as evidence the kill struck mid-save,
 * and removed.  The same for training checkpoints. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

enum { ROUNDS = 150 };
#define TIME_BUDGET 30.0 /* seconds of killing per test case, at most */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* 784 -> hidden -> 784 with weights from seed: 2048 hidden units make 3.2 M
 * parameters, a 12.8 MB file. */
static ae_model *big_model(uint64_t seed, int hidden)
{
    ae_model *m;
    ck_assert_ae_ok(ae_model_create(&m, 1, 28, 28, seed));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_ENCODER, hidden, AE_ACT_RELU));
    ck_assert_ae_ok(ae_model_add_dense(m, AE_DECODER, 784, AE_ACT_SIGMOID));
    return m;
}

/* Remove the temporary files left in dir; return how many there were. */
static int remove_leftovers(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    char path[4096];
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strstr(e->d_name, ".tmp.") != NULL) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            ck_assert_int_eq(unlink(path), 0);
            n++;
        }
    closedir(d);
    return n;
}

/* What is being saved: save(k, path) writes version k (0 or 1). */
typedef ae_status (*save_fn)(void *ctx, int k, const char *path);

/* The child: save versions 1, 0, 1, 0, ... until killed. */
static void child_loop(save_fn save, void *ctx, const char *path)
{
    for (int k = 1;; k ^= 1)
        if (save(ctx, k, path) != AE_OK)
            _exit(3);
}

/* One round: start the child, kill it after a random delay, return what
 * the path holds (0 or 1; -1 for anything else). */
static int kill_round(save_fn save, void *ctx, const char *path,
                      uint8_t *const want[2], const size_t want_size[2],
                      unsigned delay_us)
{
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        child_loop(save, ctx, path);
    struct timespec delay = {.tv_sec = delay_us / 1000000,
                             .tv_nsec = (long)(delay_us % 1000000) * 1000};
    while (nanosleep(&delay, &delay) != 0)
        continue; /* interrupted: sleep the rest */
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                  "the saving child ended by itself (status 0x%x): a save "
                  "failed", status);
    size_t size;
    uint8_t *got = tu_read_file(path, &size);
    int which = -1;
    for (int k = 0; k < 2; k++)
        if (size == want_size[k] && memcmp(got, want[k], size) == 0)
            which = k;
    free(got);
    return which;
}

/* The whole test: path starts as version 0; after every kill it must hold
 * version 0 or 1, complete, and load (checked by `load`). */
static void kill_many_times(save_fn save, void *ctx, const char *dir,
                            const char *path, void (*load)(void *ctx,
                                                           const char *path))
{
    uint8_t *want[2];
    size_t want_size[2];
    for (int k = 0; k < 2; k++) {
        ck_assert_ae_ok(save(ctx, k, path));
        want[k] = tu_read_file(path, &want_size[k]);
    }
    ck_assert_ae_ok(save(ctx, 0, path));
    /* How long one save takes, to spread the kills over a few saves. */
    double t0 = now();
    ck_assert_ae_ok(save(ctx, 0, path));
    unsigned save_us = (unsigned)((now() - t0) * 1e6) + 1;
    srand(12345);
    int seen[2] = {0, 0}, leftovers = 0, rounds = 0;
    double start = now();
    for (; rounds < ROUNDS && now() - start < TIME_BUDGET; rounds++) {
        /* Every other kill within the first save (the old file must
         * stay), the others anywhere in the first three. */
        unsigned span = rounds % 2 ? 3 * save_us : save_us;
        unsigned delay = (unsigned)rand() % (span + 1);
        int which = kill_round(save, ctx, path, want, want_size, delay);
        ck_assert_msg(which >= 0, "round %d (kill after %u us): the path "
                      "holds neither the old file nor the new one", rounds,
                      delay);
        seen[which]++;
        load(ctx, path);
        leftovers += remove_leftovers(dir);
    }
    fprintf(stderr, "%s: %d kills (a save takes %u us): old/new file %d/%d "
            "times, %d temporary files left behind\n", path, rounds, save_us,
            seen[0], seen[1], leftovers);
    ck_assert_int_ge(rounds, 10);
    ck_assert_msg(seen[0] > 0 && seen[1] > 0,
                  "the kills never struck between saves of both versions");
    ck_assert_msg(leftovers > 0, "no kill struck in the middle of a save");
    free(want[0]);
    free(want[1]);
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(rmdir(dir), 0);
}

/* A new folder in the test's temporary folder, its name into dir. */
static void fresh_dir(char *dir, size_t size, const char *name)
{
    snprintf(dir, size, "%s", tu_tmp_path(name));
    ck_assert_int_eq(mkdir(dir, 0700), 0);
}

/* ---- models ------------------------------------------------------------- */

static ae_status save_model(void *ctx, int k, const char *path)
{
    ae_model **m = ctx;
    return ae_model_save(m[k], path);
}

static void load_model(void *ctx, const char *path)
{
    (void)ctx;
    ae_model *m = NULL;
    ck_assert_ae_ok(ae_model_load(&m, path));
    ae_model_free(m);
}

START_TEST(killed_model_saves_leave_old_or_new)
{
    ae_model *m[2] = {big_model(1, 2048), big_model(2, 2048)};
    char dir[4096], path[4200];
    fresh_dir(dir, sizeof dir, "crash-model");
    snprintf(path, sizeof path, "%s/model.aemodel", dir);
    kill_many_times(save_model, m, dir, path, load_model);
    ae_model_free(m[0]);
    ae_model_free(m[1]);
}
END_TEST

/* ---- checkpoints -------------------------------------------------------- */

typedef struct ckpt_ctx {
    ae_model *m[2];
    ae_optimizer *o[2];
    ae_trainer *t[2];
    ae_model *lm;
    ae_optimizer *lo;
    ae_trainer *lt; /* loads */
} ckpt_ctx;

static ae_status save_ckpt(void *ctx, int k, const char *path)
{
    ckpt_ctx *c = ctx;
    return ae_trainer_save_checkpoint(c->t[k], path);
}

static void load_ckpt(void *ctx, const char *path)
{
    ckpt_ctx *c = ctx;
    ck_assert_ae_ok(ae_trainer_load_checkpoint(c->lt, path));
}

START_TEST(killed_checkpoint_saves_leave_old_or_new)
{
    ckpt_ctx c;
    /* The children fork from this process: no worker threads, so none can
     * hold a lock across the fork. */
    ck_assert_ae_ok(ae_set_threads(1));
    float x[2 * 784];
    tu_fill_uniform(x, 2 * 784, 0, 1, 5);
    for (int k = 0; k < 2; k++) {
        c.m[k] = big_model(1, 512); /* with Adam's moments: 9.6 MB */
        ck_assert_ae_ok(ae_optimizer_create_adam(&c.o[k], 1e-3f));
        ck_assert_ae_ok(ae_trainer_create(&c.t[k], c.m[k], c.o[k]));
        for (int s = 0; s <= k; s++) /* 1 and 2 steps: different states */
            ck_assert_ae_ok(ae_trainer_step(c.t[k], x, NULL, 2, NULL));
    }
    c.lm = big_model(9, 512);
    ck_assert_ae_ok(ae_optimizer_create_adam(&c.lo, 1e-3f));
    ck_assert_ae_ok(ae_trainer_create(&c.lt, c.lm, c.lo));
    char dir[4096], path[4200];
    fresh_dir(dir, sizeof dir, "crash-checkpoint");
    snprintf(path, sizeof path, "%s/train.aeckpt", dir);
    kill_many_times(save_ckpt, &c, dir, path, load_ckpt);
    for (int k = 0; k < 2; k++) {
        ae_trainer_free(c.t[k]);
        ae_optimizer_free(c.o[k]);
        ae_model_free(c.m[k]);
    }
    ae_trainer_free(c.lt);
    ae_optimizer_free(c.lo);
    ae_model_free(c.lm);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("crash_save");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, killed_model_saves_leave_old_or_new);
    tcase_add_test(tc, killed_checkpoint_saves_leave_old_or_new);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
