// Writes the golden values TestForwardOpsMatchGGML checks llem's forward-pass
// arithmetic against: glibc's sinf/cosf (RoPE tables), and ggml's own
// ggml_vec_dot_f32 (attention scores and decode values),
// ggml_vec_soft_max_f32, ggml_vec_swiglu_f32 and ggml_vec_dot_q8_0_q8_0
// from llama.cpp's CPU backend (the AVX2 build). Records: u32 kind, u32 n, then the kind's
// float32 arrays (little-endian). See gen-forward-golden.sh.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef double ggml_float;
void ggml_vec_dot_f32(int n, float *s, size_t bs, const float *x, size_t bx, const float *y, size_t by, int nrc);
ggml_float ggml_vec_soft_max_f32(const int n, float *y, const float *x, float max);
void ggml_vec_swiglu_f32(const int n, float *y, const float *x, const float *g);
void ggml_vec_dot_q8_0_q8_0(int n, float *s, size_t bs, const void *vx, size_t bx, const void *vy, size_t by, int nrc);
void quantize_row_q8_0(const float *x, void *y, int64_t k);
void ggml_cpu_init(void);

static uint64_t st = 0x9E3779B97F4A7C15ull;
static float urand(float lo, float hi) { // xorshift64*
  st ^= st >> 12; st ^= st << 25; st ^= st >> 27;
  uint64_t r = st * 0x2545F4914F6CDD1Dull;
  return lo + (hi - lo) * (float)((r >> 40) / 16777216.0);
}
static FILE *out;
static void rec(uint32_t kind, uint32_t n) { fwrite(&kind, 4, 1, out); fwrite(&n, 4, 1, out); }
static void put(const float *x, int n) { fwrite(x, 4, n, out); }

int main(int argc, char **argv) {
  ggml_cpu_init(); // the f16 tables
  out = fopen(argv[1], "wb");
  if (!out) return 1;
  // 1: sinf/cosf. RoPE thetas as ggml builds them (pos·theta_scale^i in
  // float, base 10000 and 500000, 64 and 128 dims), then random arguments.
  enum { NS = 6144 };
  static float xs[NS], ss[NS], cs[NS];
  int m = 0;
  const float bases[2] = {10000.0f, 500000.0f};
  const int dims[2] = {64, 128};
  for (int b = 0; b < 2; b++)
    for (int pos = 0; pos < 4096 && m < 4096; pos += 1 + pos / 16) {
      float ts = powf(bases[b], -2.0f / dims[b]);
      float th = (float)pos;
      for (int i = 0; i < dims[b] / 2 && m < 4096; i += 3, th *= ts * ts * ts) xs[m++] = th;
    }
  while (m < 5120) xs[m++] = urand(-200.0f, 200.0f);
  while (m < 5632) xs[m++] = urand(-1.0f, 1.0f) * urand(0.0f, 1.0f);
  while (m < NS) xs[m++] = urand(-30000.0f, 30000.0f);
  for (int i = 0; i < NS; i++) { ss[i] = sinf(xs[i]); cs[i] = cosf(xs[i]); }
  rec(1, NS); put(xs, NS); put(ss, NS); put(cs, NS);
  // 2: ggml_vec_dot_f32 on random vectors of several lengths.
  const int dl[6] = {64, 128, 32, 96, 40, 300};
  for (int t = 0; t < 6; t++)
    for (int k = 0; k < 20; k++) {
      int n = dl[t];
      float x[300], y[300], s;
      for (int i = 0; i < n; i++) { x[i] = urand(-2, 2); y[i] = urand(-2, 2) * (k % 3 ? 1.0f : 1e-3f); }
      ggml_vec_dot_f32(n, &s, 0, x, 0, y, 0, 1);
      rec(2, n); put(x, n); put(y, n); put(&s, 1);
    }
  // 3: a softmax row as ggml_compute_forward_soft_max_f32 computes it
  // (max, ggml_vec_soft_max_f32, scale by 1/sum), rows padded with −Inf
  // to a multiple of 8; wide spreads reach expf's |n| > 126 path.
  for (int k = 0; k < 60; k++) {
    int valid = 1 + k * 7 % 200, n = (valid + 7) & ~7;
    float x[256], y[256], mx = -INFINITY;
    float spread = k % 4 == 0 ? 150.0f : (k % 4 == 1 ? 10.0f : 3.0f);
    for (int i = 0; i < n; i++) x[i] = i < valid ? urand(-spread, spread) : -INFINITY;
    for (int i = 0; i < n; i++) mx = fmaxf(mx, x[i]);
    ggml_float sum = ggml_vec_soft_max_f32(n, y, x, mx);
    sum = 1.0 / sum;
    for (int i = 0; i < n; i++) y[i] *= (float)sum; // ggml_vec_scale_f32 (inline): one multiply each
    rec(3, n); put(x, n); put(y, n);
  }
  // 4: SwiGLU rows (multiples of 8), arguments out to ±120.
  for (int k = 0; k < 20; k++) {
    int n = 64;
    float x[64], g[64], y[64];
    float spread = k % 2 ? 120.0f : 8.0f;
    for (int i = 0; i < n; i++) { x[i] = urand(-spread, spread); g[i] = urand(-3, 3); }
    ggml_vec_swiglu_f32(n, y, x, g);
    rec(4, n); put(x, n); put(g, n); put(y, n);
  }
  // 5: ggml_vec_dot_q8_0_q8_0 of a Q8_0 weight row (raw blocks, 34 bytes
  // each, zero-padded to whole floats) with an activation row quantised
  // by quantize_row_q8_0.
  for (int k = 0; k < 24; k++) {
    int n = 32 * (1 + k % 12);
    float w[384], x[384], s;
    static unsigned char wq[12 * 34 + 4], xq[12 * 34];
    for (int i = 0; i < n; i++) { w[i] = urand(-1, 1); x[i] = urand(-3, 3) * (i % 7 == 0 ? 4.0f : 1.0f); }
    memset(wq, 0, sizeof wq);
    quantize_row_q8_0(w, wq, n);
    quantize_row_q8_0(x, xq, n);
    ggml_vec_dot_q8_0_q8_0(n, &s, 0, wq, 0, xq, 0, 1);
    int nw = (n / 32 * 34 + 3) / 4;
    rec(5, n); fwrite(wq, 4, nw, out); put(x, n); put(&s, 1);
  }
  fclose(out);
  return 0;
}
