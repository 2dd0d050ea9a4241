/* finite.h - NaN and infinity checks (private). */
#ifndef AE_FINITE_H
#define AE_FINITE_H

#include <stddef.h>

/* 1 if every one of the n values is finite (neither NaN nor infinite). */
int ae__all_finite(const float *x, size_t n);

/* The largest |x[i]|, 0 for n = 0; NaN or infinity when x holds one (NaN
 * if any is NaN), so that `!(ae__max_magnitude(x, n) < bound)` refuses
 * non-finite arrays with too large ones.  On one thread: for arrays that
 * are small or already in cache. */
float ae__max_magnitude(const float *x, size_t n);

#endif /* AE_FINITE_H */
