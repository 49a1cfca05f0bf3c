// CarRacing's 96x96 -> 84x84 area resize of a batch of frames, with OpenCV's bits, into the
// layout the encoder reads: (84, 84, n, 3) float32 in [0, 1], each pixel's channels of all
// frames side by side.
//
// OpenCV's general area path for 8 source pixels to 7 (resizeArea_ with float buffers): output
// pixel j of an 8-pixel block reads source pixels j and j + 1 with the weights (a[j], b[j]),
// each product rounded before the sum (built with contraction off), first along rows, then
// along columns; the value is rounded half to even, clamped to 0..255 and divided by 255.
// metaheb.tasks.area_resize builds this file, checks it against OpenCV once per process and
// keeps OpenCV where it differs.
#include <cmath>
#include <cstdint>
#if defined(__AVX2__)
#include <immintrin.h>
#define METAHEB_AVX2 1
#endif

namespace {

constexpr int SOURCE = 96, TARGET = 84, BLOCK = 8, OUT_BLOCK = 7, CHANNELS = 3;
constexpr int ROW = TARGET * CHANNELS;  // one resized row, channels interleaved
constexpr int IN_SPAN = BLOCK * CHANNELS, OUT_SPAN = OUT_BLOCK * CHANNELS;  // 24 -> 21 values

// Source row ``src`` resized along x, channels interleaved: in each block of 8 pixels, value k
// of the 21 outputs reads source values k and k + 3 (the next pixel's same channel). ``wa`` and
// ``wb`` hold the weights of the 21 values (and 3 of padding); ``row`` has 8 values of room past
// its end, which the last block's vector overwrites.
inline void resize_row(const uint8_t* src, const float* wa, const float* wb, float* row) {
    float values[SOURCE * CHANNELS + 8];
    int k = 0;
#ifdef METAHEB_AVX2
    for (; k < SOURCE * CHANNELS; k += 8) {
        const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(src + k));
        _mm256_storeu_ps(values + k, _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes)));
    }
    for (int i = 0; i < 8; ++i) values[SOURCE * CHANNELS + i] = 0.0f;
    for (int block = 0; block < SOURCE / BLOCK; ++block) {
        const float* in = values + block * IN_SPAN;
        float* out = row + block * OUT_SPAN;
        for (int v = 0; v < IN_SPAN; v += 8) {
            const __m256 p0 = _mm256_mul_ps(_mm256_loadu_ps(in + v), _mm256_loadu_ps(wa + v));
            const __m256 p1 =
                _mm256_mul_ps(_mm256_loadu_ps(in + v + CHANNELS), _mm256_loadu_ps(wb + v));
            _mm256_storeu_ps(out + v, _mm256_add_ps(p0, p1));
        }
    }
#else
    for (; k < SOURCE * CHANNELS; ++k) values[k] = src[k];
    for (int block = 0; block < SOURCE / BLOCK; ++block) {
        const float* in = values + block * IN_SPAN;
        float* out = row + block * OUT_SPAN;
        for (int v = 0; v < OUT_SPAN; ++v) {
            const float p0 = in[v] * wa[v], p1 = in[v + CHANNELS] * wb[v];
            out[v] = p0 + p1;
        }
    }
#endif
}

// Two resized rows combined along y into one output row: the products, their sum rounded half
// to even, clamped to 0..255, / 255.
inline void column_pass(const float* upper, const float* lower, float a, float b, float* line) {
    int k = 0;
#ifdef METAHEB_AVX2
    const __m256 va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b);
    const __m256 low = _mm256_setzero_ps(), high = _mm256_set1_ps(255.0f);
    for (; k + 8 <= ROW; k += 8) {
        const __m256 sum = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(upper + k), va),
                                         _mm256_mul_ps(_mm256_loadu_ps(lower + k), vb));
        const __m256 even = _mm256_round_ps(sum, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        const __m256 value = _mm256_min_ps(_mm256_max_ps(even, low), high);
        _mm256_storeu_ps(line + k, _mm256_div_ps(value, high));
    }
#endif
    for (; k < ROW; ++k) {
        const float p0 = upper[k] * a, p1 = lower[k] * b;
        float value = std::nearbyint(p0 + p1);  // half to even: the default mode
        value = value < 0.0f ? 0.0f : (value > 255.0f ? 255.0f : value);
        line[k] = value / 255.0f;
    }
}

}  // namespace

extern "C" int area_resize(const uint8_t* const* frames, int64_t n, const float* a,
                           const float* b, float* out) {
    float wa[IN_SPAN] = {}, wb[IN_SPAN] = {}, rows[BLOCK][ROW + 8], line[ROW];
    for (int k = 0; k < OUT_SPAN; ++k) wa[k] = a[k / CHANNELS], wb[k] = b[k / CHANNELS];
    const int64_t pixel = n * CHANNELS;  // the output's stride from one pixel to the next
    // A block of 8 source rows makes 7 output rows, which all frames write before the next
    // block: those rows of the output (56 KB at 8 frames) stay in cache meanwhile.
    for (int block = 0; block < SOURCE / BLOCK; ++block) {
        for (int64_t f = 0; f < n; ++f) {
            const uint8_t* src = frames[f] + block * BLOCK * SOURCE * CHANNELS;
            for (int r = 0; r < BLOCK; ++r) resize_row(src + r * SOURCE * CHANNELS, wa, wb, rows[r]);
            for (int j = 0; j < OUT_BLOCK; ++j) {
                column_pass(rows[j], rows[j + 1], a[j], b[j], line);
                const int64_t y = block * OUT_BLOCK + j;
                float* target = out + y * TARGET * pixel + f * CHANNELS;
                for (int x = 0; x < TARGET; ++x)
                    for (int c = 0; c < CHANNELS; ++c) target[x * pixel + c] = line[x * CHANNELS + c];
            }
        }
    }
    return 0;
}
