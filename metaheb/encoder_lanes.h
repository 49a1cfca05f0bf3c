// The encoder kernel's values lane by lane: torch.maximum's max (NaN kept), the 2x2 pool's
// loads, 8x8 transposes and partial stores, and metaheb.rational_tanh's tanh, each with the bits
// torch gives (metaheb/encoder_kernel.cpp).
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define METAHEB_AVX2 1
#endif

namespace metaheb_encoder {

inline float nan_max(float a, float b) {
    if (a != a) return a;
    if (b != b) return b;
    return a >= b ? a : b;
}

#ifdef METAHEB_AVX2
// nan_max lane by lane: x if x is NaN, else y if y is NaN, else x >= y ? x : y (max_ps(y, x)
// returns its second operand for equal values, zeros of either sign included).
inline __m256 nan_max8(__m256 x, __m256 y) {
    __m256 r = _mm256_max_ps(y, x);
    r = _mm256_blendv_ps(r, y, _mm256_cmp_ps(y, y, _CMP_UNORD_Q));
    return _mm256_blendv_ps(r, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}
#endif

#ifdef METAHEB_AVX2
// rows[l] <- column l of the 8x8 block rows[0..7] (lane moves only: every bit kept, NaNs too).
inline void transpose8(__m256 rows[8]) {
    __m256 t[8], u[8];
    for (int k = 0; k < 4; ++k) {
        t[2 * k] = _mm256_unpacklo_ps(rows[2 * k], rows[2 * k + 1]);
        t[2 * k + 1] = _mm256_unpackhi_ps(rows[2 * k], rows[2 * k + 1]);
    }
    for (int k = 0; k < 2; ++k) {
        u[4 * k] = _mm256_shuffle_ps(t[4 * k], t[4 * k + 2], 0x44);
        u[4 * k + 1] = _mm256_shuffle_ps(t[4 * k], t[4 * k + 2], 0xEE);
        u[4 * k + 2] = _mm256_shuffle_ps(t[4 * k + 1], t[4 * k + 3], 0x44);
        u[4 * k + 3] = _mm256_shuffle_ps(t[4 * k + 1], t[4 * k + 3], 0xEE);
    }
    for (int k = 0; k < 4; ++k) {
        rows[k] = _mm256_permute2f128_ps(u[k], u[k + 4], 0x20);
        rows[k + 4] = _mm256_permute2f128_ps(u[k], u[k + 4], 0x31);
    }
}

// Pooled values j .. j + 7 of conv rows a and b (each [OW]): the max of the row pair, then of
// each column pair, as max_pool_2x2 takes them.
inline __m256 pool8(const float* a, const float* b, int j) {
    const __m256 v0 = nan_max8(_mm256_loadu_ps(a + 2 * j), _mm256_loadu_ps(b + 2 * j));
    const __m256 v1 = nan_max8(_mm256_loadu_ps(a + 2 * j + 8), _mm256_loadu_ps(b + 2 * j + 8));
    const __m256 even = _mm256_castpd_ps(
        _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(v0, v1, 0x88)), 0xD8));
    const __m256 odd = _mm256_castpd_ps(
        _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(v0, v1, 0xDD)), 0xD8));
    return nan_max8(even, odd);
}
#endif

// metaheb.rational_tanh's tanh of pooled values, from its ten numbers: the bound b, the scale s,
// then p1..p4 and q1..q4. y = clamp(x P(u) / Q(u), -1, 1) with x clamped to [-b, b], u = x x s,
// P = 1 + u (p1 + u (p2 + u (p3 + u p4))) and Q likewise: torch's order, every step rounded.
struct RationalTanh {
    const float* c;  // null: no activation (torch.tanh runs after the kernel)

    // max_ps(a, x) returns x when x is NaN, and min_ps(a, x) too: torch.clamp keeps NaN.
    static inline float clamp(float x, float bound) {
        const float low = -bound > x ? -bound : x;
        return bound < low ? bound : low;
    }

    static inline float horner(float u, const float* k) {
        float v = k[3];
        for (int i = 2; i >= 0; --i) v = v * u + k[i];
        return v * u + 1.0f;
    }

    inline float operator()(float x) const {
        if (c == nullptr) return x;
        x = clamp(x, c[0]);
        const float u = x * x * c[1];
        return clamp(x * horner(u, c + 2) / horner(u, c + 6), 1.0f);
    }

#ifdef METAHEB_AVX2
    static inline __m256 clamp8(__m256 x, float bound) {
        return _mm256_min_ps(_mm256_set1_ps(bound), _mm256_max_ps(_mm256_set1_ps(-bound), x));
    }

    inline __m256 operator()(__m256 x) const {
        apply<1>(&x);
        return x;
    }

    // N vectors, step by step across them: N independent chains in flight at once.
    template <int N>
    inline void apply(__m256* v) const {
        if (c == nullptr) return;
        __m256 u[N], p[N], q[N];
        for (int n = 0; n < N; ++n) {
            v[n] = clamp8(v[n], c[0]);
            u[n] = _mm256_mul_ps(_mm256_mul_ps(v[n], v[n]), _mm256_set1_ps(c[1]));
            p[n] = _mm256_set1_ps(c[5]);
            q[n] = _mm256_set1_ps(c[9]);
        }
        for (int i = 2; i >= 0; --i)
            for (int n = 0; n < N; ++n) {
                p[n] = _mm256_add_ps(_mm256_mul_ps(p[n], u[n]), _mm256_set1_ps(c[2 + i]));
                q[n] = _mm256_add_ps(_mm256_mul_ps(q[n], u[n]), _mm256_set1_ps(c[6 + i]));
            }
        const __m256 one = _mm256_set1_ps(1.0f);
        for (int n = 0; n < N; ++n) {
            p[n] = _mm256_add_ps(_mm256_mul_ps(p[n], u[n]), one);
            q[n] = _mm256_add_ps(_mm256_mul_ps(q[n], u[n]), one);
            v[n] = clamp8(_mm256_div_ps(_mm256_mul_ps(v[n], p[n]), q[n]), 1.0f);
        }
    }
#endif
};

#ifdef METAHEB_AVX2
// The first N lanes of v to dst, in plain stores (a masked store is slow on some CPUs).
template <int N>
inline void store_first(float* dst, __m256 v) {
    if (N == 8) {
        _mm256_storeu_ps(dst, v);
        return;
    }
    __m128 part = _mm256_castps256_ps128(v);
    int done = 0;
    if (N >= 4) {
        _mm_storeu_ps(dst, part);
        part = _mm256_extractf128_ps(v, 1);
        done = 4;
    }
    if (N - done >= 2) {
        _mm_storel_pi(reinterpret_cast<__m64*>(dst + done), part);
        part = _mm_movehl_ps(part, part);
        done += 2;
    }
    if (N - done == 1) _mm_store_ss(dst + done, part);
}
#endif

}  // namespace metaheb_encoder
