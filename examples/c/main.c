/*
 * A C client of librectifier: every kernel, f32 and f64, on every backend this CPU supports,
 * checked bit for bit against values derived by hand from SPEC.md (sections 1, 2 and 3), and every
 * status code the C ABI can return. Exits 0 when everything matches, 1 otherwise.
 *
 * Built twice by .ci/run, against the static and the shared library (see docs/using-from-c.md):
 *   cc -std=c11 -Wall -Wextra -Werror -Iinclude examples/c/main.c \
 *      target/release/librectifier.a -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc -o main-static
 *   cc -std=c11 -Wall -Wextra -Werror -Iinclude examples/c/main.c \
 *      -Ltarget/release -lrectifier -Wl,-rpath,"$PWD/target/release" -o main-shared
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rectifier.h"

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define STR_(a) #a
#define STR(a) STR_(a)

static int g_failures = 0;
static long g_checks = 0;
static rectifier_backend g_backend = RECTIFIER_BACKEND_AUTO;

static void fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("MISMATCH: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    g_failures++;
}

/* ------------------------------------------------------------------------------------------
 * Values, written once for both types: a number (exact in float and double), or one of the
 * special bit patterns below, which differ by type.
 */
enum {
    NUM,      /* the number `v` */
    QNAN,     /* quiet NaN with payload 1:             0x7fc00001 / 0x7ff8000000000001 */
    NQNAN,    /* negative quiet NaN, payload 2:         0xffc00002 / 0xfff8000000000002 */
    QNAN2,    /* NQNAN with the sign cleared:           0x7fc00002 / 0x7ff8000000000002 */
    SNAN_IN,  /* signalling NaN, payload 1:             0x7f800001 / 0x7ff0000000000001 */
    SNAN_Q,   /* SNAN_IN quieted by a product:          0x7fc00001 / 0x7ff8000000000001 */
    DNAN,     /* the x86 default NaN (invalid product): 0xffc00000 / 0xfff8000000000000 */
    NSUB,     /* minus the smallest subnormal:          0x80000001 / 0x8000000000000001 */
    PSUB,     /* the smallest subnormal:                0x00000001 / 0x0000000000000001 */
    DYSNAN,   /* signalling NaN in dy:                  0x7fa00000 / 0x7ff4000000000000 */
    DYSNAN_Q, /* DYSNAN quieted by a product:           0x7fe00000 / 0x7ffc000000000000 */
};
static const uint32_t F32_SPECIAL[] = {0,          0x7fc00001, 0xffc00002, 0x7fc00002,
                                       0x7f800001, 0x7fc00001, 0xffc00000, 0x80000001,
                                       0x00000001, 0x7fa00000, 0x7fe00000};
static const uint64_t F64_SPECIAL[] = {0,
                                       0x7ff8000000000001ull,
                                       0xfff8000000000002ull,
                                       0x7ff8000000000002ull,
                                       0x7ff0000000000001ull,
                                       0x7ff8000000000001ull,
                                       0xfff8000000000000ull,
                                       0x8000000000000001ull,
                                       0x0000000000000001ull,
                                       0x7ff4000000000000ull,
                                       0x7ffc000000000000ull};

typedef struct {
    int kind;
    double v;
} sym;
#define V(x) {NUM, (x)}
#define K(k) {(k), 0.0}

/* The inputs (12 elements, repeated 11 times: vector bodies and masked tails on every backend). */
static const sym Z[12] = {V(-2.0), V(-0.0), V(0.0),   V(1.5),     K(QNAN), K(NQNAN),
                          K(SNAN_IN), V(-INFINITY), V(INFINITY), K(NSUB), V(3.0),  V(-0.5)};
static const sym DY[12] = {V(1.0), V(-INFINITY), V(-3.0), V(4.0),     V(5.0), V(6.0),
                           V(7.0), V(8.0),       K(DYSNAN), V(-0.0), V(INFINITY), V(12.0)};

/* SPEC 1. relu: z < 0 ? +0 : z (-0 stays -0, NaN bits kept, signalling too). */
static const sym E_RELU[12] = {V(0.0),  V(-0.0),    V(0.0),     V(1.5),  K(QNAN), K(NQNAN),
                               K(SNAN_IN), V(0.0), V(INFINITY), V(0.0), V(3.0),  V(0.0)};
/* leaky_relu(0.5): z > 0 ? z : 0.5 * z. 0.5 * -2^-149 = -2^-150 is a tie: to even, -0. */
static const sym E_LEAKY[12] = {V(-1.0),   V(-0.0),      V(0.0),      V(1.5),  K(QNAN), K(NQNAN),
                                K(SNAN_Q), V(-INFINITY), V(INFINITY), V(-0.0), V(3.0),  V(-0.25)};
/* leaky_relu(0): 0 * -inf is the default NaN; 0 * -x is -0. */
static const sym E_LEAKY0[12] = {V(-0.0),   V(-0.0), V(0.0),      V(1.5),  K(QNAN), K(NQNAN),
                                 K(SNAN_Q), K(DNAN), V(INFINITY), V(-0.0), V(3.0),  V(-0.0)};
/* abs: the sign bit cleared (NaN payload kept, not quieted). */
static const sym E_ABS[12] = {V(2.0),     V(0.0),      V(0.0),      V(1.5),  K(QNAN), K(QNAN2),
                              K(SNAN_IN), V(INFINITY), V(INFINITY), K(PSUB), V(3.0),  V(0.5)};
/* prelu, channels-last, slopes {0.5, 0.25, 2}: channel i % 3. */
static const sym E_PRELU_CL[12] = {V(-1.0),   V(-0.0),      V(0.0),      V(1.5),  K(QNAN), K(NQNAN),
                                   K(SNAN_Q), V(-INFINITY), V(INFINITY), V(-0.0), V(3.0),  V(-1.0)};
/* prelu, channels-first, C = 2, S = 3, slopes {0.25, 0.5}: channel (i / 3) % 2. */
static const sym E_PRELU_CF[12] = {V(-0.5),   V(-0.0),      V(0.0),      V(1.5),  K(QNAN), K(NQNAN),
                                   K(SNAN_Q), V(-INFINITY), V(INFINITY), V(-0.0), V(3.0),  V(-0.25)};

/* SPEC 3. relu backward: left z <= 0 ? +0 : dy; right z < 0 ? +0 : dy (NaN z passes dy). */
static const sym E_RB_L[12] = {V(0.0), V(0.0), V(0.0), V(4.0),    V(5.0), V(6.0),
                               V(7.0), V(0.0), K(DYSNAN), V(0.0), V(INFINITY), V(0.0)};
static const sym E_RB_R[12] = {V(0.0), V(-INFINITY), V(-3.0),   V(4.0), V(5.0),      V(6.0),
                               V(7.0), V(0.0),       K(DYSNAN), V(0.0), V(INFINITY), V(0.0)};
/* leaky_relu(0.5) backward: left z > 0 ? dy : 0.5 * dy; right z >= 0 ? dy : 0.5 * dy. A passing
 * dy keeps its bits (signalling NaN included). */
static const sym E_LB_L[12] = {V(0.5), V(-INFINITY), V(-1.5),   V(4.0),  V(2.5),      V(3.0),
                               V(3.5), V(4.0),       K(DYSNAN), V(-0.0), V(INFINITY), V(6.0)};
static const sym E_LB_R[12] = {V(0.5), V(-INFINITY), V(-3.0),   V(4.0),  V(2.5),      V(3.0),
                               V(3.5), V(4.0),       K(DYSNAN), V(-0.0), V(INFINITY), V(6.0)};
/* abs backward: dy * s, s = -1 (z < 0), +0 (z = +-0 or NaN), +1 (z > 0), an IEEE product:
 * -inf * +0 is the default NaN, -3 * +0 = -0, a signalling dy times 1 is quieted. */
static const sym E_AB[12] = {V(-1.0), K(DNAN), V(-0.0), V(4.0),      V(0.0), V(0.0),
                             V(0.0),  V(-8.0), K(DYSNAN_Q), V(0.0), V(INFINITY), V(-12.0)};
/* prelu backward, channels-last, slopes {0.5, 0.25, 2}. */
static const sym E_PB_L[12] = {V(0.5), V(-INFINITY), V(-6.0),   V(4.0),  V(1.25),     V(12.0),
                               V(3.5), V(2.0),       K(DYSNAN), V(-0.0), V(INFINITY), V(24.0)};
static const sym E_PB_R[12] = {V(0.5), V(-INFINITY), V(-3.0),   V(4.0),  V(1.25),     V(12.0),
                               V(3.5), V(2.0),       K(DYSNAN), V(-0.0), V(INFINITY), V(24.0)};

/* The slope gradient: channels-last, C = 2, slopes {0.5, 0.25}; da[0] = -1 - 1 + 0 = -2 and
 * da[1] = -0.75 + 2 = 1.25 per repetition (exact sums). */
static const sym Z2[6] = {V(-1.0), V(2.0), V(-0.5), V(-3.0), V(0.0), V(-2.0)};
static const sym DY2[6] = {V(1.0), V(5.0), V(2.0), V(0.25), V(7.0), V(-1.0)};
static const sym E_SG_L[6] = {V(0.5), V(5.0), V(1.0), V(0.0625), V(3.5), V(-0.25)};
static const sym E_SG_R[6] = {V(0.5), V(5.0), V(1.0), V(0.0625), V(7.0), V(-0.25)};

/* Mask bits (1 where backward passes dy), element 0 first, repeating with period 12:
 * relu left !(z <= 0), right !(z < 0); leaky/prelu left z > 0, right z >= 0. */
/* SPEC 2. Maxout, k = 4: 8 groups (interleaved order: group g is elements 4g .. 4g+3). The first
 * NaN wins with its bits and position; otherwise the earliest maximal element (ties, -0 vs +0
 * included, go to the earliest; the winner's bits are kept). */
static const sym MZ[32] = {V(1.0),  V(3.0),       V(3.0),    V(2.0),          /* 3 at 1 (tie) */
                           V(-0.0), V(0.0),       V(-1.0),   V(-0.0),         /* -0 at 0 */
                           V(0.0),  V(-0.0),      V(-2.0),   V(-3.0),         /* +0 at 0 */
                           V(-INFINITY), V(-INFINITY), V(-INFINITY), V(-INFINITY), /* at 0 */
                           V(1.0),  K(QNAN),      K(NQNAN),  V(5.0),          /* first NaN */
                           V(INFINITY), V(2.0),   K(SNAN_IN), V(1.0),         /* sNaN kept */
                           K(NSUB), K(PSUB),      V(-0.0),   V(0.0),          /* subnormal */
                           V(-5.0), V(-4.0),      V(-3.0),   V(-0.5)};
static const sym E_MAXV[8] = {V(3.0), V(-0.0), V(0.0),    V(-INFINITY),
                              K(QNAN), K(SNAN_IN), K(PSUB), V(-0.5)};
static const uint32_t E_MAXI[8] = {1, 0, 0, 0, 1, 2, 1, 3};
/* Backward with those indices: dy per group. Overwrite: dy[g] at its index (bits kept, a
 * signalling NaN too), +0 elsewhere. */
static const sym MDY[8] = {V(1.0), V(-2.0), K(DYSNAN), V(-0.0),
                           V(INFINITY), V(0.5), K(DYSNAN), V(3.0)};
static const sym E_MB_OW[32] = {V(0.0), V(1.0), V(0.0), V(0.0),  V(-2.0), V(0.0), V(0.0), V(0.0),
                                K(DYSNAN), V(0.0), V(0.0), V(0.0), V(-0.0), V(0.0), V(0.0), V(0.0),
                                V(0.0), V(INFINITY), V(0.0), V(0.0), V(0.0), V(0.0), V(0.5), V(0.0),
                                V(0.0), K(DYSNAN), V(0.0), V(0.0), V(0.0), V(0.0), V(0.0), V(3.0)};
/* Accumulate: dx[g, idx] += dy[g] (a NaN dx wins, quieted; else a NaN dy, quieted; inf + -inf
 * is the default NaN); the other elements untouched (-0 stays -0). */
static const sym MDX0[32] = {V(0.5), V(2.0), V(7.0), V(7.0),  V(-0.0), V(-0.0), V(-0.0), V(-0.0),
                             K(SNAN_IN), V(1.0), V(1.0), V(1.0), V(-0.0), V(5.0), V(5.0), V(5.0),
                             V(0.0), V(-INFINITY), V(0.0), V(0.0), V(1.0), V(1.0), V(1.0), V(1.0),
                             V(0.0), V(2.0), V(0.0), V(0.0), V(0.0), V(0.0), V(0.0), V(0.25)};
static const sym E_MB_ACC[32] = {V(0.5), V(3.0), V(7.0), V(7.0), V(-2.0), V(-0.0), V(-0.0), V(-0.0),
                                 K(SNAN_Q), V(1.0), V(1.0), V(1.0), V(-0.0), V(5.0), V(5.0), V(5.0),
                                 V(0.0), K(DNAN), V(0.0), V(0.0), V(1.0), V(1.0), V(1.5), V(1.0),
                                 V(0.0), K(DYSNAN_Q), V(0.0), V(0.0), V(0.0), V(0.0), V(0.0), V(3.25)};

static void expect_indices(const char *what, const uint32_t *got, const uint32_t *want, size_t pat,
                           size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (got[i] != want[i % pat]) {
            fail("%s on %s: index %zu is %u, expected %u", what, rectifier_backend_name(g_backend),
                 i, got[i], want[i % pat]);
            return;
        }
    }
    g_checks++;
}

static const char *M_RELU_L = "000111101010";
static const char *M_RELU_R = "011111101010";
static const char *M_LEAKY_L = "000100001010";
static const char *M_LEAKY_R = "011100001010";

static void expect_mask(const char *what, const uint64_t *mask, const char *pattern, size_t n) {
    for (size_t w = 0; w < (n + 63) / 64; w++) {
        uint64_t want = 0;
        for (size_t bit = 0; bit < 64 && w * 64 + bit < n; bit++)
            if (pattern[(w * 64 + bit) % 12] == '1') want |= (uint64_t)1 << bit;
        if (mask[w] != want) {
            fail("%s on %s: mask word %zu is 0x%016llx, expected 0x%016llx", what,
                 rectifier_backend_name(g_backend), w, (unsigned long long)mask[w],
                 (unsigned long long)want);
            return;
        }
    }
    g_checks++;
}

#define T float
#define S f32
#include "suite.inc"
#undef T
#undef S

#define T double
#define S f64
#include "suite.inc"
#undef T
#undef S

/* ------------------------------------------------------------------------------------------
 * Every status code, and nothing written on error.
 */
static int g_expect_line = 0;
static void expect_status(rectifier_status got, rectifier_status want, const float *out, size_t n,
                          int line) {
    g_expect_line = line;
    if (got != want) {
        fail("line %d: status %d (%s), expected %d (%s)", line, got, rectifier_status_message(got),
             want, rectifier_status_message(want));
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (want != RECTIFIER_OK && out[i] != 7.25f) {
            fail("line %d: element %zu written on error", line, i);
            return;
        }
    }
    g_checks++;
}
#define EXPECT(call, want) expect_status((call), (want), out, 8, __LINE__)

static void errors(void) {
    float src[8] = {1, -2, 0, -0.0f, 3, -4, 5, -6};
    float out[8], buf[16];
    uint64_t mask[2] = {0, 0};
    const float slopes[2] = {0.5f, 0.25f};
    for (int i = 0; i < 8; i++) out[i] = 7.25f;
    for (int i = 0; i < 16; i++) buf[i] = 1.0f;

    EXPECT(rectifier_relu_with_mask_f32(src, out, 8, mask, 2, RECTIFIER_SUBGRADIENT_LEFT),
           RECTIFIER_LENGTH_MISMATCH);
    EXPECT(rectifier_prelu_f32(src, out, 7, slopes, 2, RECTIFIER_LAYOUT_CHANNELS_LAST, 0),
           RECTIFIER_NOT_DIVISIBLE);
    EXPECT(rectifier_leaky_relu_f32(src, out, 8, NAN), RECTIFIER_NON_FINITE_SLOPE);
    EXPECT(rectifier_leaky_relu_f32(src, out, 8, -INFINITY), RECTIFIER_NON_FINITE_SLOPE);
    EXPECT(rectifier_prelu_f32(src, out, 8, slopes, 0, RECTIFIER_LAYOUT_CHANNELS_LAST, 0),
           RECTIFIER_INVALID_SHAPE);
    EXPECT(rectifier_prelu_f32(src, out, 8, slopes, 2, RECTIFIER_LAYOUT_CHANNELS_FIRST, 0),
           RECTIFIER_INVALID_SHAPE);
    EXPECT(rectifier_relu_backward_from_output_f32(src, src, out, 8, RECTIFIER_SUBGRADIENT_RIGHT),
           RECTIFIER_FROM_OUTPUT_SUBGRADIENT);
    EXPECT(rectifier_leaky_relu_backward_from_output_f32(src, src, out, 8, 0.0f,
                                                         RECTIFIER_SUBGRADIENT_LEFT),
           RECTIFIER_FROM_OUTPUT_SLOPE);
    {
        /* A backend this CPU lacks (there is always one: x86 has no NEON, aarch64 no AVX). */
        uint32_t have = rectifier_supported_backends();
        rectifier_backend missing = (have & (1u << RECTIFIER_BACKEND_NEON)) ? RECTIFIER_BACKEND_AVX2
                                                                           : RECTIFIER_BACKEND_NEON;
        EXPECT(rectifier_relu_f32_on(missing, src, out, 8), RECTIFIER_UNSUPPORTED_BACKEND);
    }
    EXPECT(rectifier_relu_f32(NULL, out, 8), RECTIFIER_NULL_POINTER);
    EXPECT(rectifier_relu_f32(src, NULL, 8), RECTIFIER_NULL_POINTER);
    EXPECT(rectifier_relu_f32(NULL, NULL, 0), RECTIFIER_OK); /* length 0: never touched */
    EXPECT(rectifier_relu_f32((const float *)((const char *)src + 1), out, 4),
           RECTIFIER_MISALIGNED_POINTER);
    {
        double d[3] = {0, 0, 0};
        /* An address that is 4- but not 8-aligned, as a double pointer. */
        const char *p = (const char *)d;
        p += ((uintptr_t)p % 8 == 0) ? 4 : 0;
        double dout[1] = {7.25};
        expect_status(rectifier_abs_f64((const double *)(const void *)p, dout, 1),
                      RECTIFIER_MISALIGNED_POINTER, out, 8, __LINE__);
        if (dout[0] != 7.25) fail("f64 output written on error");
    }
    EXPECT(rectifier_relu_f32(src, out, (size_t)PTRDIFF_MAX / 4 + 1), RECTIFIER_SIZE_OVERFLOW);
    EXPECT(rectifier_relu_f32(src, out, SIZE_MAX), RECTIFIER_SIZE_OVERFLOW);
    /* Out of place: exact aliasing and partial overlap are both errors; in place is one pointer. */
    EXPECT(rectifier_relu_f32(out, out, 8), RECTIFIER_OVERLAP);
    EXPECT(rectifier_relu_f32(buf, buf + 4, 8), RECTIFIER_OVERLAP);
    EXPECT(rectifier_relu_backward_inplace_f32(buf, buf + 2, 8, RECTIFIER_SUBGRADIENT_LEFT),
           RECTIFIER_OVERLAP);
    EXPECT(rectifier_relu_backward_f32(src, src, out, 8, 7), RECTIFIER_INVALID_ARGUMENT);
    EXPECT(rectifier_prelu_f32(src, out, 8, slopes, 2, 9, 0), RECTIFIER_INVALID_ARGUMENT);
    EXPECT(rectifier_relu_f32_on(42, src, out, 8), RECTIFIER_INVALID_ARGUMENT);
    /* Read-only buffers may overlap (z == dy), and in-place works. */
    EXPECT(rectifier_relu_backward_f32(src, src, out, 8, RECTIFIER_SUBGRADIENT_LEFT), RECTIFIER_OK);
    EXPECT(rectifier_relu_inplace_f32(buf, 16), RECTIFIER_OK);

    /* Every status has its own message (codes are 0, 1, 2, ...; new ones are appended); an
     * unknown code still gets a string. */
    int codes = 0;
    while (codes < 256 && strcmp(rectifier_status_message(codes), "unknown status code") != 0) codes++;
    if (codes <= RECTIFIER_INTERNAL) fail("only %d status codes have messages", codes);
    for (int s = 0; s < codes; s++) {
        const char *m = rectifier_status_message(s);
        if (m == NULL || m[0] == '\0') fail("status %d has no message", s);
        for (int t = 0; t < s; t++)
            if (strcmp(m, rectifier_status_message(t)) == 0)
                fail("statuses %d and %d share a message", t, s);
    }
    if (strcmp(rectifier_status_message(-1), "unknown status code") != 0) fail("unknown status");
    {
        /* Maxout: G = 2 groups of k = 3 (n = 6). */
        const float mz[6] = {1, 2, 3, -1, -2, -3};
        const uint32_t good[2] = {2, 0}, bad[2] = {0, 3};
        const float mdy[2] = {1, 2};
        uint32_t idx[4] = {9, 9, 9, 9};
        const rectifier_maxout_layout il = RECTIFIER_MAXOUT_INTERLEAVED;
        for (int i = 0; i < 8; i++) out[i] = 7.25f;
        EXPECT(rectifier_maxout_f32(mz, out, idx, 6, 2, 0, il), RECTIFIER_INVALID_SHAPE);
        EXPECT(rectifier_maxout_values_f32(mz, out, 6, 2, 0, il), RECTIFIER_INVALID_SHAPE);
        EXPECT(rectifier_maxout_f32(mz, out, idx, 5, 2, 3, il), RECTIFIER_NOT_DIVISIBLE);
        EXPECT(rectifier_maxout_f32(mz, out, idx, 6, 3, 3, il), RECTIFIER_LENGTH_MISMATCH);
        EXPECT(rectifier_maxout_f32(mz, out, NULL, 6, 2, 3, il), RECTIFIER_NULL_POINTER);
        EXPECT(rectifier_maxout_f32(mz, out, (uint32_t *)(void *)((char *)idx + 2), 6, 2, 3, il),
               RECTIFIER_MISALIGNED_POINTER);
        EXPECT(rectifier_maxout_f32(mz, out, (uint32_t *)(void *)(out + 1), 6, 2, 3, il),
               RECTIFIER_OVERLAP);
        EXPECT(rectifier_maxout_f32(mz, out, idx, 6, 2, 3, 2), RECTIFIER_INVALID_ARGUMENT);
#if SIZE_MAX > UINT32_MAX
        /* k beyond uint32_t: the indices could not hold the positions. */
        EXPECT(rectifier_maxout_f32(mz, out, idx, 0, 0, (size_t)UINT32_MAX + 2, il),
               RECTIFIER_INDEX_TYPE_TOO_NARROW);
#endif
        for (int i = 0; i < 4; i++)
            if (idx[i] != 9) fail("maxout indices written on error");
        EXPECT(rectifier_maxout_backward_f32(mdy, bad, out, 2, 6, 3, il, RECTIFIER_MAXOUT_OVERWRITE),
               RECTIFIER_INDEX_OUT_OF_RANGE);
        EXPECT(rectifier_maxout_backward_f32(mdy, bad, out, 2, 6, 3, RECTIFIER_MAXOUT_PLANAR,
                                             RECTIFIER_MAXOUT_ACCUMULATE),
               RECTIFIER_INDEX_OUT_OF_RANGE);
        EXPECT(rectifier_maxout_backward_f32(mdy, NULL, out, 2, 6, 3, il, RECTIFIER_MAXOUT_OVERWRITE),
               RECTIFIER_NULL_POINTER);
        EXPECT(rectifier_maxout_backward_f32(mdy, good, out, 2, 6, 3, il, 5),
               RECTIFIER_INVALID_ARGUMENT);
        EXPECT(rectifier_maxout_backward_f32(out + 6, good, out, 2, 7, 3, il,
                                             RECTIFIER_MAXOUT_OVERWRITE),
               RECTIFIER_OVERLAP);
        EXPECT(rectifier_maxout_backward_f32(mdy, (const uint32_t *)(const void *)(out + 4), out, 2,
                                             6, 3, il, RECTIFIER_MAXOUT_OVERWRITE),
               RECTIFIER_OVERLAP);
        EXPECT(rectifier_maxout_f32(mz, out, idx, 6, 2, 3, il), RECTIFIER_OK);
        if (out[0] != 3 || out[1] != -1 || idx[0] != 2 || idx[1] != 0) fail("maxout result");
    }
    /* RECTIFIER_INTERNAL (a caught panic) cannot be provoked from valid C: no input panics. The
     * Rust tests cover it (tests/ffi.rs). */
}

int main(void) {
    uint32_t have = rectifier_supported_backends();
    printf("librectifier %s; supported backends:", rectifier_version());
    for (int b = RECTIFIER_BACKEND_SCALAR; b <= RECTIFIER_BACKEND_NEON; b++)
        if (have & (1u << b)) printf(" %s", rectifier_backend_name(b));
    printf("; active: %s; detected: %s\n", rectifier_backend_name(rectifier_active_backend()),
           rectifier_backend_name(rectifier_detected_backend()));
    if (!(have & (1u << RECTIFIER_BACKEND_SCALAR))) fail("scalar backend missing");
    if (!(have & (1u << rectifier_active_backend()))) fail("active backend not supported");
    {
        /* As the Rust tests: CI says which backend this machine must pick. */
        const char *expect = getenv("RECTIFIER_EXPECT_BACKEND");
        const char *active = rectifier_backend_name(rectifier_active_backend());
        if (expect && expect[0] && strcmp(expect, active) != 0)
            fail("active backend is %s, RECTIFIER_EXPECT_BACKEND=%s", active, expect);
    }

    for (int b = RECTIFIER_BACKEND_AUTO; b <= RECTIFIER_BACKEND_NEON; b++) {
        if (b != RECTIFIER_BACKEND_AUTO && !(have & (1u << b))) continue;
        g_backend = b;
        suite_f32();
        suite_f64();
    }
    errors();

    if (g_failures) {
        fprintf(stderr, "FAILED: %d mismatches (%ld checks passed)\n", g_failures, g_checks);
        return 1;
    }
    printf("OK: %ld checks passed (every kernel, f32 and f64, every supported backend, every "
           "status code)\n", g_checks);
    return 0;
}
