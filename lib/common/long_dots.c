/* long_dots.c - C = beta C + A B^T by dot products over long rows
 * (long_dots.h says when and why). */
#include "common/long_dots.h"

#include <string.h>

#include "common/vector_clones.h"

typedef float dot_lanes __attribute__((vector_size(8 * sizeof(float))));

/* Rows one row meets at once: the taps of a 3x3 kernel.  Their sums, the
 * row's vector and one other take 11 of AVX2's 16 vector registers; a
 * bound known to the compiler keeps the sums in them. */
enum { TILE = 9 };

/* out[j] = the dot product of x with row j of y (rows ldy apart), for
 * j < t <= TILE; a short tile repeats its last row and drops the copies. */
AE__VECTOR_CLONES
static void dot_tile(const float *x, const float *y, size_t ldy, int t,
                     int k, float *out)
{
    const float *row[TILE];
    for (int j = 0; j < TILE; j++)
        row[j] = y + (size_t)(j < t ? j : t - 1) * ldy;
    dot_lanes acc[TILE] = {{0}};
    int p = 0;
    for (; p + 8 <= k; p += 8) {
        dot_lanes xv;
        memcpy(&xv, x + p, sizeof xv);
        for (int j = 0; j < TILE; j++) {
            dot_lanes yv;
            memcpy(&yv, row[j] + p, sizeof yv);
            acc[j] += xv * yv;
        }
    }
    for (int j = 0; j < t; j++) {
        float s = 0.0f;
        for (int l = 0; l < 8; l++)
            s += acc[j][l];
        for (int q = p; q < k; q++)
            s += x[q] * row[j][q];
        out[j] = s;
    }
}

/* c[i * si + j * sj] = beta c + the dot product of row i of X with row j
 * of Y, for i < nx and j < ny: Y's rows a tile at a time. */
static void dots(int nx, int ny, int k, const float *x, size_t ldx,
                 const float *y, size_t ldy, float beta, float *c, size_t si,
                 size_t sj)
{
    float out[TILE];
    for (int i = 0; i < nx; i++)
        for (int j0 = 0; j0 < ny; j0 += TILE) {
            const int t = ny - j0 < TILE ? ny - j0 : TILE;
            dot_tile(x + (size_t)i * ldx, y + (size_t)j0 * ldy, ldy, t, k,
                     out);
            for (int j = 0; j < t; j++) {
                float *cij = c + (size_t)i * si + (size_t)(j0 + j) * sj;
                *cij = beta == 0.0f ? out[j] : *cij + out[j];
            }
        }
}

void ae__long_dots(int m, int n, int k, const float *a, size_t lda,
                   const float *b, size_t ldb, float beta, float *c,
                   size_t ldc)
{
    /* The tiles over the shorter side: each row of the longer one meets
     * all of the other's rows in as few tiles as it can. */
    if (m < n)
        dots(n, m, k, b, ldb, a, lda, beta, c, 1, ldc);
    else
        dots(m, n, k, a, lda, b, ldb, beta, c, ldc, 1);
}
