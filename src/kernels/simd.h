// Vectorised variants of relnet's CPU kernels, chosen at load time. Private
// to relnet_core (src/kernels is not an include folder of relnet's users).
#pragma once

// A kernel marked RELNET_SIMD is compiled for AVX-512, AVX2 and the x86-64
// baseline; the loader picks the best the CPU has (GCC's target_clones).
// Elsewhere it is compiled once for the target. The clones differ in
// instruction sets only (not in `arch=`), so that ordinary inline helpers
// still inline into them; helpers called in their inner loops are marked
// RELNET_INLINE all the same, since a call there stops vectorisation.
//
// A build may define RELNET_SIMD itself: the variant test binaries
// (CMakeLists.txt, RELNET_VARIANT_TESTS) compile the kernels with it empty
// and one clone's instruction-set flags, so that each clone's code path is
// tested whatever CPU runs the tests.
#ifndef RELNET_SIMD
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define RELNET_SIMD __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define RELNET_SIMD
#endif
#endif
#if defined(__GNUC__)
#define RELNET_INLINE inline __attribute__((always_inline))
#else
#define RELNET_INLINE inline
#endif
