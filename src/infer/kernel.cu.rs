// CUDA C source of the pre-processing kernel, compiled at start-up by NVRTC.
// Kept in step with `infer::pre::Preprocessor::fill` (same sampling, colour matrix and padding),
// so the GPU and CPU paths agree within float rounding.
pub(crate) const LETTERBOX_SRC: &str = r#"
extern "C" __global__ void letterbox_yuv420(
    const unsigned char* __restrict__ frame, int width, int height, int nv12,
    int y_stride, int uv_stride, unsigned long long uv_offset,
    int rx, int ry, float scale, int content_w, int content_h, int in_w, int in_h,
    float* __restrict__ out,
    float mul0, float mul1, float mul2, float add0, float add1, float add2, float padv, int bgr)
{
    int dx = blockIdx.x * blockDim.x + threadIdx.x;
    int dy = blockIdx.y * blockDim.y + threadIdx.y;
    if (dx >= in_w || dy >= in_h) return;
    int plane = in_w * in_h;
    int idx = dy * in_w + dx;
    float mul[3] = {mul0, mul1, mul2};
    float add[3] = {add0, add1, add2};
    if (dx >= content_w || dy >= content_h) {
        for (int c = 0; c < 3; c++) out[c * plane + idx] = padv * mul[c] + add[c];
        return;
    }
    float sx = fminf(fmaxf((float)rx + ((float)dx + 0.5f) / scale - 0.5f, 0.0f), (float)(width - 1));
    float sy = fminf(fmaxf((float)ry + ((float)dy + 0.5f) / scale - 0.5f, 0.0f), (float)(height - 1));
    float fx0 = floorf(sx);
    float fy0 = floorf(sy);
    int x0 = (int)fx0, y0 = (int)fy0;
    int x1 = min(x0 + 1, width - 1), y1 = min(y0 + 1, height - 1);
    float fx = sx - fx0, fy = sy - fy0;
    const unsigned char* r0 = frame + (size_t)y0 * y_stride;
    const unsigned char* r1 = frame + (size_t)y1 * y_stride;
    float top = (float)r0[x0] + ((float)r0[x1] - (float)r0[x0]) * fx;
    float bot = (float)r1[x0] + ((float)r1[x1] - (float)r1[x0]) * fx;
    float luma = top + (bot - top) * fy;
    int cx = min((int)((float)x0 + fx + 0.5f), width - 1) / 2;
    int cy = min((int)(sy + 0.5f), height - 1) / 2;
    int ch = (height + 1) / 2;
    size_t base = (size_t)uv_offset;
    float u, v;
    if (nv12) {
        size_t i = base + (size_t)cy * uv_stride + (size_t)cx * 2;
        u = frame[i]; v = frame[i + 1];
    } else {
        u = frame[base + (size_t)cy * uv_stride + cx];
        v = frame[base + (size_t)uv_stride * ch + (size_t)cy * uv_stride + cx];
    }
    float c = 1.164383f * (luma - 16.0f);
    float d = u - 128.0f, e = v - 128.0f;
    float r = fminf(fmaxf(c + 1.596027f * e, 0.0f), 255.0f);
    float g = fminf(fmaxf(c - 0.391762f * d - 0.812968f * e, 0.0f), 255.0f);
    float b = fminf(fmaxf(c + 2.017232f * d, 0.0f), 255.0f);
    int ri = bgr ? 2 : 0, bi = bgr ? 0 : 2;
    out[ri * plane + idx] = r * mul[ri] + add[ri];
    out[plane + idx] = g * mul[1] + add[1];
    out[bi * plane + idx] = b * mul[bi] + add[bi];
}
"#;
