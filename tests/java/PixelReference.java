import java.util.Arrays;

/**
 * ImageTensors.argbToChw and chwToArgb exactly as they were before the lookup-table/fast-path
 * rewrite (argument checks left out): the oracle the fast versions must match bit for bit, and
 * the "before" row of benchmarks/bench_pixels.py. Do not optimize this file.
 */
final class PixelReference {
    private PixelReference() {}

    static float[] argbToChw(int[] argb, int width, int height, float[] mean, float[] std) {
        int plane = width * height;
        float[] chw = new float[3 * plane];
        for (int ch = 0; ch < 3; ch++) {
            int shift = 16 - 8 * ch;
            float m = mean[ch];
            float s = std[ch];
            int base = ch * plane;
            for (int i = 0; i < plane; i++) {
                int c = (argb[i] >>> shift) & 0xFF;
                chw[base + i] = ((c / 255.0f) - m) / s;
            }
        }
        return chw;
    }

    static int[] chwToArgb(float[] chw, int width, int height, float[] mean, float[] std) {
        int plane = width * height;
        int[] argb = new int[plane];
        Arrays.fill(argb, 0xFF000000);
        for (int ch = 0; ch < 3; ch++) {
            int shift = 16 - 8 * ch;
            float m = mean[ch];
            float s = std[ch];
            int base = ch * plane;
            for (int i = 0; i < plane; i++) {
                float v = chw[base + i] * s + m;
                if (!(v > 0.0f)) {
                    v = 0.0f;
                } else if (v > 1.0f) {
                    v = 1.0f;
                }
                int c = (int) Math.floor(v * 255.0f + 0.5f);
                argb[i] |= c << shift;
            }
        }
        return argb;
    }

    /** One channel of chwToArgb: the byte a CHW value x becomes. */
    static int level(float x, float s, float m) {
        float v = x * s + m;
        if (!(v > 0.0f)) {
            v = 0.0f;
        } else if (v > 1.0f) {
            v = 1.0f;
        }
        return (int) Math.floor(v * 255.0f + 0.5f);
    }
}
