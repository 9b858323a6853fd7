/* The compiled inner loop of ce_lib.fused: the softmax statistics of a run of rows, and
 * optionally the rows of the cross-entropy gradient, in one call per thread.
 *
 * For rows i = 0 .. n_rows-1 of x (row stride ld elements, unit column stride):
 *
 *     m[i] = max_j x[i, j]
 *     s[i] = sum_j exp(x[i, j] - m[i])
 *
 * and, when grad is not NULL (row stride ld_grad),
 *
 *     grad[i, j] = exp(x[i, j] - m[i]) * (coef[i] / s[i])  -  col_sub[j]   (0 if NULL)
 *
 * grad may be x itself: each element is read before it is overwritten. Per row, one pass
 * brings the row in from memory (its max), the next computes the exponentials (one per
 * element) and their sum, storing them in the gradient's row, and the last scales that
 * row while it is still in the CPU's cache (a row of 128256 floats is 500 KiB).
 *
 * The same numbers on every CPU. setup.py compiles this file without -ffast-math and with
 * -ffp-contract=off, so every +, -, * and / is one IEEE-754 operation, rounded once, in the
 * order written here, and fmaf/fma is one fused multiply-add, rounded once, whether the CPU
 * has the instruction or the C library computes it. exp is our own polynomial (below), not
 * the C library's, whose last bits vary between libraries. Sums run in LANES interleaved
 * partial sums combined in a fixed order. So the plain x86-64, AVX2 and AVX-512 versions
 * (gcc builds all three and picks one when the library loads) and an ARM build compute
 * the same numbers, bit for bit; tests/test_kernel.py checks two builds against each other.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ce_lib/_kernel.py refuses a library whose ABI number differs from its own: a stale build. */
int ce_kernels_abi(void) { return 1; }

/* gcc on x86-64 Linux builds each exported function three times, for plain x86-64 (SSE2),
 * AVX2 + FMA and AVX-512, and the loader picks the one this CPU runs. (-DVECTOR_CLONES=
 * builds one version only, for the flags given: tests/test_kernel.py compares them.) */
#ifndef VECTOR_CLONES
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define VECTOR_CLONES __attribute__((target_clones("default", "arch=x86-64-v3", "arch=x86-64-v4")))
#else
#define VECTOR_CLONES
#endif
#endif
/* the helpers are compiled into each clone, for its vector width */
#define ALWAYS_INLINE inline __attribute__((always_inline))

#define LANES 16   /* partial sums (and maxima) per row, whatever the vector width */
/* A loop over the lanes, which gcc turns into one to four vector instructions. Unrolled
 * first (its default for 16 iterations), it would stay sixteen scalar ones. */
#define FOR_EACH_LANE(l) _Pragma("GCC unroll 1") for (int l = 0; l < LANES; l++)
#define CHUNK 256  /* elements summed in the row's dtype before the partials go to double */
/* How far ahead of the max pass the logits are asked for (prefetched into L2): enough to
 * keep a core's memory requests in flight while it computes exps, little beside a row. */
#ifndef PREFETCH_BYTES
#define PREFETCH_BYTES 32768
#endif

/* --------------------------------------------------------------------------------------
 * exp(x) for x <= 0 (or NaN): the only arguments the row kernel has, x - max(row).
 *
 * float32, |error| 1.01 ulp at most in tests/test_kernel.py's sweep (Cephes' expf polynomial):
 *     k = round(x / ln 2),  r = x - k ln 2  (|r| <= ln 2 / 2, ln 2 in two parts),
 *     exp(x) = 2^k (1 + r + r^2 P(r)),
 * 2^k built from its bits. x is first raised to -88 at least, where k = -127 gives the
 * bits of 0: results below about 1e-38 (x < -87.7) are 0, as on GPUs, which flush them;
 * the next few, down to 2^-126 y, are rounded once. -inf gives 0 and NaN gives NaN.
 * Every step is a single IEEE operation (fmaf is one rounding, on every CPU).
 */
static inline float float_from_bits(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static inline uint32_t bits_of_float(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

static inline float exp_f32(float x)
{
    const float round_magic = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    x = -88.0f > x ? -88.0f : x;           /* (a NaN x fails the test and stays NaN) */
    float t = fmaf(x, 1.44269504088896341f, round_magic);
    float kf = t - round_magic;
    float r = fmaf(kf, -0.693359375f, x);  /* ln 2 = 0.693359375 - 2.12194440e-4 */
    r = fmaf(kf, 2.12194440e-4f, r);
    float p = 1.9875691500e-4f;
    p = fmaf(p, r, 1.3981999507e-3f);
    p = fmaf(p, r, 8.3334519073e-3f);
    p = fmaf(p, r, 4.1665795894e-2f);
    p = fmaf(p, r, 1.6666665459e-1f);
    p = fmaf(p, r, 5.0000001201e-1f);
    float y = fmaf(p, r * r, r) + 1.0f;
    /* the bits of 2^k: k + 127 in the exponent field (t's low bits hold k + 2^22 + 2^23) */
    uint32_t two_to_k = (bits_of_float(t) - bits_of_float(round_magic) + 127u) << 23;
    return y * float_from_bits(two_to_k);
}

/* float64, |error| 1.64 ulp at most in the same sweep (Cephes' exp: a rational function of
 * r^2), with the same reduction and scaling; x is raised to -709 at least, and results
 * below about 2e-308 (x < -708.7) are 0. */
static inline double double_from_bits(uint64_t u) { double d; memcpy(&d, &u, 8); return d; }
static inline uint64_t bits_of_double(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }

static inline double exp_f64(double x)
{
    const double round_magic = 6755399441055744.0; /* 1.5 * 2^52 */
    x = -709.0 > x ? -709.0 : x;
    double t = fma(x, 1.4426950408889634074, round_magic);
    double kf = t - round_magic;
    double r = fma(kf, -6.93145751953125e-1, x);  /* ln 2 in two parts */
    r = fma(kf, -1.42860682030941723212e-6, r);
    double rr = r * r;
    double p = 1.26177193074810590878e-4;
    p = fma(p, rr, 3.02994407707441961300e-2);
    p = fma(p, rr, 9.99999999999999999910e-1);
    p = p * r;
    double q = 3.00198505138664455042e-6;
    q = fma(q, rr, 2.52448340349684104192e-3);
    q = fma(q, rr, 2.27265548208155028766e-1);
    q = fma(q, rr, 2.00000000000000000009e0);
    double y = fma(2.0, p / (q - p), 1.0);
    uint64_t two_to_k = (bits_of_double(t) - bits_of_double(round_magic) + 1023u) << 52;
    return y * double_from_bits(two_to_k);
}

/* --------------------------------------------------------------------------------------
 * Writing a finished chunk of the gradient. A large gradient is written with x86's
 * non-temporal stores (SSE2, on every x86-64 CPU): they go to memory without first reading
 * each cache line in (as an ordinary store must) and without evicting the rows still to be
 * used. A gradient that fits in the caches is written with ordinary stores, so it stays
 * there for whatever reads it next. Either way the same values land.
 */
#if defined(__x86_64__) || defined(_M_X64)
#include <emmintrin.h>
#define CAN_STREAM 1
#else
#define CAN_STREAM 0
#endif

static ALWAYS_INLINE void write_out_f32(float *dst, const float *src, long n, int stream)
{
#if CAN_STREAM
    if (stream) {
        long j = 0;
        for (; j < n && ((uintptr_t)(dst + j) & 15) != 0; j++) dst[j] = src[j];
        for (; j + 4 <= n; j += 4) _mm_stream_ps(dst + j, _mm_loadu_ps(src + j));
        for (; j < n; j++) dst[j] = src[j];
        return;
    }
#endif
    memcpy(dst, src, (size_t)n * sizeof(float));
}

static ALWAYS_INLINE void write_out_f64(double *dst, const double *src, long n, int stream)
{
#if CAN_STREAM
    if (stream) {
        long j = 0;
        for (; j < n && ((uintptr_t)(dst + j) & 15) != 0; j++) dst[j] = src[j];
        for (; j + 2 <= n; j += 2) _mm_stream_pd(dst + j, _mm_loadu_pd(src + j));
        for (; j < n; j++) dst[j] = src[j];
        return;
    }
#endif
    memcpy(dst, src, (size_t)n * sizeof(double));
}

static ALWAYS_INLINE void end_of_streaming(int stream)
{
#if CAN_STREAM
    if (stream) _mm_sfence();  /* the streamed stores are visible before the call returns */
#else
    (void)stream;
#endif
}

/* --------------------------------------------------------------------------------------
 * The row kernel, once per dtype. Row i needs three passes: its max (the row comes in
 * from memory), exp(x - m) and their sum s (arithmetic, on the row now in the cache), and,
 * with a gradient, the gradient's row (written out to memory). One after the other, the
 * memory sits idle while exp computes and the arithmetic units while memory streams. So
 * the passes are interleaved as a pipeline: step i takes the max of row i + 1, the exps
 * of row i and writes the gradient of row i - 1, a chunk of each in turn. Every row still
 * gets exactly the operations, in exactly the order, that the three passes would give it.
 *
 *   max:  LANES running maxima (v > m ? v : m: a NaN never wins, so a NaN row reaches the
 *         sum, where exp(NaN) makes s NaN, as torch's softmax is), then combined;
 *   sum:  exp(x - m), CHUNK values at a time into a buffer, summed there in LANES partial
 *         sums of type T; each chunk's partials are added into LANES double partials,
 *         which are combined in a fixed tree at the end;
 *   grad: the buffered exps times coef / s, minus col_sub.
 */
#define DEFINE_SOFTMAX_ROWS(SUFFIX, T, EXP)                                                  \
/* lanes[j % LANES] = max(lanes[j % LANES], v[j]) for j < n (v starts at a multiple of      \
 * LANES within its row) */                                                                 \
static ALWAYS_INLINE void max_into_lanes_##SUFFIX(T *lanes, const T *v, long n)             \
{                                                                                           \
    long j = 0;                                                                             \
    for (; j + LANES <= n; j += LANES)                                                      \
        FOR_EACH_LANE(l) lanes[l] = v[j + l] > lanes[l] ? v[j + l] : lanes[l];               \
    for (; j < n; j++)                                                                      \
        lanes[j % LANES] = v[j] > lanes[j % LANES] ? v[j] : lanes[j % LANES];               \
}                                                                                           \
                                                                                            \
static ALWAYS_INLINE T max_of_lanes_##SUFFIX(const T *lanes)                                \
{                                                                                           \
    T m = lanes[0];                                                                         \
    for (int l = 1; l < LANES; l++) m = lanes[l] > m ? lanes[l] : m;                        \
    return m;                                                                               \
}                                                                                           \
                                                                                            \
/* e[j] = exp(v[j] - m) for j < n, and total[l] += their sum in lane l */                   \
static ALWAYS_INLINE void exp_into_lanes_##SUFFIX(double *total, T *e, const T *v, long n,  \
                                                  T m)                                      \
{                                                                                           \
    for (long j = 0; j < n; j++) e[j] = EXP(v[j] - m);                                      \
    T part[LANES] = {0};                                                                    \
    long j = 0;                                                                             \
    for (; j + LANES <= n; j += LANES) FOR_EACH_LANE(l) part[l] += e[j + l];                \
    for (; j < n; j++) part[j % LANES] += e[j];                                             \
    FOR_EACH_LANE(l) total[l] += (double)part[l];                                           \
}                                                                                           \
                                                                                            \
static ALWAYS_INLINE T sum_of_lanes_##SUFFIX(double *total)                                 \
{                                                                                           \
    for (int width = LANES / 2; width >= 1; width /= 2)                                     \
        for (int l = 0; l < width; l++) total[l] += total[l + width];                       \
    return (T)total[0];                                                                     \
}                                                                                           \
                                                                                            \
/* Returns 0, or -1 if the memory for two rows of exps could not be had. */                 \
VECTOR_CLONES                                                                               \
int ce_softmax_rows_##SUFFIX(const T *x, long n_rows, long n_cols, long ld,                 \
                             T *m, T *s, T *grad, long ld_grad,                             \
                             const T *coef, const T *col_sub, int stream)                   \
{                                                                                           \
    /* With a gradient, the exps of the current row and of the one before, kept in the     \
     * cache until its gradient is written. Without, one chunk's at a time. */              \
    T chunk_exps[CHUNK];                                                                    \
    T *exps = NULL;                                                                         \
    if (grad != NULL && n_rows > 0 && n_cols > 0) {  /* (malloc(0) may give NULL) */    \
        exps = malloc(2 * (size_t)n_cols * sizeof(T));                                      \
        if (exps == NULL) return -1;                                                        \
    }                                                                                       \
    T lanes[LANES];                                                                         \
    FOR_EACH_LANE(l) lanes[l] = -INFINITY;                                                  \
    if (n_rows > 0) max_into_lanes_##SUFFIX(lanes, x, n_cols);                              \
    T row_max = max_of_lanes_##SUFFIX(lanes);  /* of row 0 */                               \
    T factor = 0;                              /* coef / s of the row before */             \
    for (long i = 0; i <= n_rows; i++) {                                                    \
        /* step i: the max of row i + 1, the exps of row i, the gradient of row i - 1 */    \
        const T *ahead = i + 1 < n_rows ? x + (i + 1) * ld : NULL;                          \
        const T *row = i < n_rows ? x + i * ld : NULL;                                      \
        T *out = grad != NULL && i > 0 ? grad + (i - 1) * ld_grad : NULL;                   \
        T *row_exps = exps == NULL ? NULL : exps + (i % 2) * n_cols;                        \
        const T *out_exps = exps == NULL ? NULL : exps + ((i + 1) % 2) * n_cols;            \
        double total[LANES] = {0};                                                          \
        FOR_EACH_LANE(l) lanes[l] = -INFINITY;                                              \
        for (long j0 = 0; j0 < n_cols; j0 += CHUNK) {                                       \
            long len = n_cols - j0 < CHUNK ? n_cols - j0 : CHUNK;                           \
            if (ahead != NULL) max_into_lanes_##SUFFIX(lanes, ahead + j0, len);             \
            if (ahead != NULL)                                                              \
                for (long j = j0; j < j0 + len; j += 64 / sizeof(T))                        \
                    __builtin_prefetch(ahead + j + PREFETCH_BYTES / sizeof(T), 0, 2);        \
            if (row != NULL)                                                                \
                exp_into_lanes_##SUFFIX(total, row_exps == NULL ? chunk_exps : row_exps + j0, \
                                        row + j0, len, row_max);                            \
            if (out != NULL) {                                                              \
                T *done = chunk_exps;  /* free here: a gradient means row_exps is in use */ \
                if (col_sub == NULL)                                                        \
                    for (long j = 0; j < len; j++) done[j] = out_exps[j0 + j] * factor;     \
                else                                                                        \
                    for (long j = 0; j < len; j++)                                          \
                        done[j] = out_exps[j0 + j] * factor - col_sub[j0 + j];              \
                write_out_##SUFFIX(out + j0, done, len, stream);                            \
            }                                                                               \
        }                                                                                   \
        if (row != NULL) {                                                                  \
            T row_sum = sum_of_lanes_##SUFFIX(total);                                       \
            m[i] = row_max;                                                                 \
            s[i] = row_sum;                                                                 \
            if (grad != NULL) factor = coef[i] / row_sum;                                   \
        }                                                                                   \
        row_max = max_of_lanes_##SUFFIX(lanes);  /* of row i + 1 */                         \
    }                                                                                       \
    end_of_streaming(stream);                                                               \
    free(exps);                                                                             \
    return 0;                                                                               \
}

DEFINE_SOFTMAX_ROWS(f32, float, exp_f32)
DEFINE_SOFTMAX_ROWS(f64, double, exp_f64)

/* exp of a contiguous array of values <= 0 (or NaN), for the tests: the kernel's exp
 * against an exact one. */
VECTOR_CLONES
void ce_exp_f32(const float *x, float *y, long n)
{
    for (long i = 0; i < n; i++) y[i] = exp_f32(x[i]);
}

VECTOR_CLONES
void ce_exp_f64(const double *x, double *y, long n)
{
    for (long i = 0; i < n; i++) y[i] = exp_f64(x[i]);
}
