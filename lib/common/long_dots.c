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

static void store(float *c, float beta, float v)
{
    *c = beta == 0.0f ? v : *c + v;
}

void ae__long_dots(int m, int n, int k, const float *a, size_t lda,
                   const float *b, size_t ldb, float beta, float *c,
                   size_t ldc)
{
    float out[TILE];
    if (m < n) { /* each row of B against tiles of A's rows */
        for (int j = 0; j < n; j++)
            for (int i0 = 0; i0 < m; i0 += TILE) {
                const int t = m - i0 < TILE ? m - i0 : TILE;
                dot_tile(b + (size_t)j * ldb, a + (size_t)i0 * lda, lda, t, k,
                         out);
                for (int i = 0; i < t; i++)
                    store(c + (size_t)(i0 + i) * ldc + j, beta, out[i]);
            }
        return;
    }
    for (int i = 0; i < m; i++)
        for (int j0 = 0; j0 < n; j0 += TILE) {
            const int t = n - j0 < TILE ? n - j0 : TILE;
            dot_tile(a + (size_t)i * lda, b + (size_t)j0 * ldb, ldb, t, k,
                     out);
            for (int j = 0; j < t; j++)
                store(c + (size_t)i * ldc + j0 + j, beta, out[j]);
        }
}
