/* finite.h - NaN and infinity checks (private). */
#ifndef AE_FINITE_H
#define AE_FINITE_H

#include <stddef.h>

/* 1 if every one of the n values is finite (neither NaN nor infinite). */
int ae__all_finite(const float *x, size_t n);

#endif /* AE_FINITE_H */
