// Writes golden data for llem's native dequantisation tests: for each ggml
// tensor type, deterministic float rows quantised by ggml itself
// (ggml_quantize_chunk) and decoded by ggml itself (type traits' to_float).
// Built and run by gen-quant-golden.sh against the llama.cpp build in
// .peers/llama.cpp.
//
// Output, little-endian: per type, u32 type, u32 rows, u32 cols, u32 nbytes,
// nbytes of quantised data, rows*cols float32 source values, rows*cols
// float32 decoded values.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include "ggml.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static float next_uniform(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 11) * (1.0 / 9007199254740992.0));
}

static float next_normal(void) {
    float u1 = next_uniform() + 1e-7f, u2 = next_uniform();
    return sqrtf(-2.0f * logf(u1)) * cosf(6.2831853f * u2);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUT\n", argv[0]);
        return 2;
    }
    const enum ggml_type types[] = {
        GGML_TYPE_BF16, GGML_TYPE_Q4_0, GGML_TYPE_Q4_1, GGML_TYPE_Q5_0, GGML_TYPE_Q5_1, GGML_TYPE_Q8_0,
        GGML_TYPE_Q2_K, GGML_TYPE_Q3_K, GGML_TYPE_Q4_K, GGML_TYPE_Q5_K, GGML_TYPE_Q6_K,
    };
    const int rows = 3, cols = 512;
    FILE *out = fopen(argv[1], "wb");
    if (!out) {
        perror(argv[1]);
        return 1;
    }
    float *src = malloc(sizeof(float) * rows * cols);
    float *dec = malloc(sizeof(float) * rows * cols);
    void *q = malloc(rows * cols * 4);
    for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
        // Rows of different scales, an outlier and a run of zeros, so every
        // scale/minimum path is exercised.
        for (int r = 0; r < rows; r++) {
            float scale = r == 0 ? 0.02f : (r == 1 ? 1.0f : 7.5f);
            for (int c = 0; c < cols; c++) {
                float v = next_normal() * scale;
                if (r == 1) v += 0.3f;  // a row with a non-zero mean (minimums)
                src[r * cols + c] = v;
            }
            src[r * cols + 17] = 12.0f * scale;
            for (int c = 300; c < 316; c++) src[r * cols + c] = 0.0f;
        }
        ggml_quantize_init(types[t]);
        size_t n = ggml_quantize_chunk(types[t], src, q, 0, rows, cols, NULL);
        ggml_get_type_traits(types[t])->to_float(q, dec, (int64_t)rows * cols);
        uint32_t hdr[4] = {(uint32_t)types[t], (uint32_t)rows, (uint32_t)cols, (uint32_t)n};
        fwrite(hdr, sizeof(hdr), 1, out);
        fwrite(q, 1, n, out);
        fwrite(src, sizeof(float), (size_t)rows * cols, out);
        fwrite(dec, sizeof(float), (size_t)rows * cols, out);
        fprintf(stderr, "%s: %zu bytes\n", ggml_type_name(types[t]), n);
    }
    fclose(out);
    return 0;
}
