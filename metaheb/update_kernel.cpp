// One Hebbian rule step and the max |w| normalisation after it, one agent's layer at a time,
// with the eager update's bits (Najarro & Risi 2020):
//
//   t = w + F_A (o_j o_i) + F_B o_i + F_C o_j + F_D      (each + a * b one fused multiply-add)
//   w = t / max|t|                                        (1 for a zero layer or a NaN in it)
//
// The eager update makes four passes over the layer and the normalisation two more; torch's
// compiled form writes t to a temporary and reads it twice. Here the weights and each factor
// are read once, t goes straight back into the weights while the running maximum is kept in
// registers, and the division reads the agent's layer again while it is still in cache. Every
// element is computed by the same operations in the same order whatever its position, so the
// vector loop and its scalar remainder agree bit for bit. metaheb.update_kernel builds this
// file, checks it against the eager update once per process and falls back where it differs.
#include <array>
#include <cmath>
#include <cstdint>
#include <utility>
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define METAHEB_AVX2 1
#endif

namespace {

struct Layer {
    float* w;             // [P][O][I], agent stride sw
    const float* f[4];    // F_A, F_B, F_C, F_D (null: no such term), agent strides sf[k]
    int64_t sw, sf[4];
    const float* hebbian_post;  // [P][O]: the o_j that multiplies o_i (modulated if any)
    const float* pre;           // [P][I]: o_i of the Hebbian product
    const float* scaled_pre;    // [P][I]: o_i of the F_B term (modulated if any)
    const float* scaled_post;   // [P][O]: o_j of the F_C term (modulated if any)
    const float* scale;         // [P]: the modulation F_D is multiplied by (null: added as is)
    int64_t O, I;
};

#ifdef METAHEB_AVX2
// The factors are read once per step and not again until the next, after the environment has
// stepped: fetched non-temporally, they do not push the physics' state and the weights out of
// the caches (Ant rollouts at batch 64, paired rounds: 1.03 and 1.08 times as fast; CarRacing's
// unchanged). A hint only: no value changes.
constexpr int64_t PREFETCH_AHEAD = 64;  // floats: four cache lines ahead

inline void prefetch_factors(const Layer& L, int64_t p, int64_t k) {
    for (int q = 0; q < 4; ++q)
        if (L.f[q]) _mm_prefetch(reinterpret_cast<const char*>(L.f[q] + p * L.sf[q] + k), _MM_HINT_NTA);
}
#endif

template <bool HA, bool HB, bool HC, bool HD, bool SD>
inline float rule_scalar(const Layer& L, int64_t p, int64_t j, int64_t k, float t) {
    const int64_t i = k % L.I;
    if (HA) t = std::fma(L.f[0][p * L.sf[0] + k], L.hebbian_post[p * L.O + j] * L.pre[p * L.I + i], t);
    if (HB) t = std::fma(L.f[1][p * L.sf[1] + k], L.scaled_pre[p * L.I + i], t);
    if (HC) t = std::fma(L.f[2][p * L.sf[2] + k], L.scaled_post[p * L.O + j], t);
    if (HD) t = SD ? std::fma(L.f[3][p * L.sf[3] + k], L.scale[p], t) : t + L.f[3][p * L.sf[3] + k];
    return t;
}

// t for every synapse of agent p's layer, written over its weights; returns max|t| (NaN if
// any t is NaN).
template <bool HA, bool HB, bool HC, bool HD, bool SD>
float step_agent(const Layer& L, int64_t p) {
    float* w = L.w + p * L.sw;
    float peak = 0.0f;
    bool nan = false;
#ifdef METAHEB_AVX2
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256 dscale = _mm256_set1_ps(SD ? L.scale[p] : 0.0f);
    __m256 vpeak = _mm256_setzero_ps(), vnan = _mm256_setzero_ps();
#endif
    for (int64_t j = 0; j < L.O; ++j) {
        const int64_t row = j * L.I;
        int64_t i = 0;
#ifdef METAHEB_AVX2
        const __m256 hpost = _mm256_set1_ps(L.hebbian_post[p * L.O + j]);
        const __m256 spost = _mm256_set1_ps(L.scaled_post[p * L.O + j]);
        for (; i + 8 <= L.I; i += 8) {
            const int64_t k = row + i;
            if ((k & 15) == 0) prefetch_factors(L, p, k + PREFETCH_AHEAD);
            __m256 t = _mm256_loadu_ps(w + k);
            if (HA) {
                const __m256 prod = _mm256_mul_ps(hpost, _mm256_loadu_ps(L.pre + p * L.I + i));
                t = _mm256_fmadd_ps(_mm256_loadu_ps(L.f[0] + p * L.sf[0] + k), prod, t);
            }
            if (HB)
                t = _mm256_fmadd_ps(_mm256_loadu_ps(L.f[1] + p * L.sf[1] + k),
                                    _mm256_loadu_ps(L.scaled_pre + p * L.I + i), t);
            if (HC) t = _mm256_fmadd_ps(_mm256_loadu_ps(L.f[2] + p * L.sf[2] + k), spost, t);
            if (HD) {
                const __m256 d = _mm256_loadu_ps(L.f[3] + p * L.sf[3] + k);
                t = SD ? _mm256_fmadd_ps(d, dscale, t) : _mm256_add_ps(t, d);
            }
            _mm256_storeu_ps(w + k, t);
            vnan = _mm256_or_ps(vnan, _mm256_cmp_ps(t, t, _CMP_UNORD_Q));
            vpeak = _mm256_max_ps(vpeak, _mm256_andnot_ps(sign, t));
        }
#endif
        for (; i < L.I; ++i) {
            const float t = rule_scalar<HA, HB, HC, HD, SD>(L, p, j, row + i, w[row + i]);
            w[row + i] = t;
            nan = nan || t != t;
            const float a = std::fabs(t);
            peak = a > peak ? a : peak;
        }
    }
#ifdef METAHEB_AVX2
    alignas(32) float lanes[8], nans[8];
    _mm256_store_ps(lanes, vpeak);
    _mm256_store_ps(nans, vnan);
    for (int l = 0; l < 8; ++l) {
        peak = lanes[l] > peak ? lanes[l] : peak;
        nan = nan || nans[l] != 0.0f;
    }
#endif
    return nan ? NAN : peak;
}

void divide_agent(const Layer& L, int64_t p, float peak) {
    // torch.where(peak > 0, peak, 1): a zero layer or one holding a NaN is divided by 1.
    if (!(peak > 0.0f)) return;
    float* w = L.w + p * L.sw;
    const int64_t n = L.O * L.I;
    int64_t k = 0;
#ifdef METAHEB_AVX2
    const __m256 d = _mm256_set1_ps(peak);
    for (; k + 8 <= n; k += 8) _mm256_storeu_ps(w + k, _mm256_div_ps(_mm256_loadu_ps(w + k), d));
#endif
    for (; k < n; ++k) w[k] = w[k] / peak;
}

template <bool HA, bool HB, bool HC, bool HD, bool SD>
void run(const Layer& L, int64_t agents, bool normalise) {
    for (int64_t p = 0; p < agents; ++p) {
        const float peak = step_agent<HA, HB, HC, HD, SD>(L, p);
        if (normalise) divide_agent(L, p, peak);
    }
}

using Runner = void (*)(const Layer&, int64_t, bool);

template <int M>
constexpr Runner runner() {
    return run<(M & 1) != 0, (M & 2) != 0, (M & 4) != 0, (M & 8) != 0, (M & 16) != 0>;
}

// One runner per set of terms present (bits 0-3) and a modulated F_D (bit 4).
template <int... M>
constexpr std::array<Runner, sizeof...(M)> runners(std::integer_sequence<int, M...>) {
    return {runner<M>()...};
}

constexpr auto RUNNERS = runners(std::make_integer_sequence<int, 32>{});

}  // namespace

extern "C" int hebbian_update(float* w, int64_t sw, const float* const* factors,
                              const int64_t* factor_strides, const float* hebbian_post,
                              const float* pre, const float* scaled_pre,
                              const float* scaled_post, const float* scale, int64_t agents,
                              int64_t out, int64_t in, int normalise) {
    Layer L{w, {factors[0], factors[1], factors[2], factors[3]}, sw,
            {factor_strides[0], factor_strides[1], factor_strides[2], factor_strides[3]},
            hebbian_post, pre, scaled_pre, scaled_post, scale, out, in};
    int mask = 0;
    for (int k = 0; k < 4; ++k) mask |= factors[k] ? (1 << k) : 0;
    if (scale && factors[3]) mask |= 16;
    RUNNERS[mask](L, agents, normalise != 0);
    return 0;
}
