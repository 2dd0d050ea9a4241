/*
 * vector_clones.h - AE__VECTOR_CLONES, on the library's elementwise hot
 * loops: the compiler builds the function for baseline x86-64 (SSE2, four
 * floats a vector), for x86-64-v3 (AVX2, eight) and for x86-64-v4
 * (AVX-512, sixteen), and the dynamic loader picks the widest the CPU runs
 * (an ifunc), so that a distribution's generic build still uses the
 * vectors of the machine it lands on.
 *
 * Why the bits do not change.  The clones hold the same C arithmetic in
 * the same order: the compiler vectorises across independent elements
 * (channels, pixels), never across a sum, since the library is built
 * without -ffast-math; and it fuses no multiply-add, since ISO C mode
 * (c_std=c11) and -ffp-contract=off (meson.build) forbid contraction.  So
 * every clone returns the baseline's results, and training stays bit-
 * identical across machines of one BLAS as across thread counts (the
 * tests run under Valgrind, which reports no AVX-512, take the AVX2
 * clone).
 *
 * Only GCC on x86-64 with ifunc support (glibc) gets the clones; other
 * compilers and targets build the one function, as does a build with
 * -DAE_NO_VECTOR_CLONES (to compare the clones' bits with the baseline's,
 * or for a loader without ifunc).
 */
#ifndef AE_VECTOR_CLONES_H
#define AE_VECTOR_CLONES_H

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) &&        \
    defined(__gnu_linux__) && __GNUC__ >= 12 && !defined(AE_NO_VECTOR_CLONES)
#define AE__VECTOR_CLONES                                                      \
    __attribute__((target_clones("default", "arch=x86-64-v3",                  \
                                 "arch=x86-64-v4")))
/* Code that picks its own vector width at run time (hand-written
 * intrinsics, which clones of one source cannot hold) does so under the
 * same condition. */
#define AE__HAVE_VECTOR_CLONES 1
#else
#define AE__VECTOR_CLONES
#endif

#endif /* AE_VECTOR_CLONES_H */
