package com.example.zebra_ify;

import java.util.Arrays;
import java.util.Comparator;

/**
 * Pixel/tensor conversions and the small numeric helpers the app needs.
 *
 * <p>Plain Java on purpose (no android.*, no org.pytorch.*): the host unit tests compare these
 * functions with vectors Python computed, so a wrong channel order, a forgotten alpha mask or a
 * normalization done in double instead of float shows up in {@code ./gradlew testDebugUnitTest}
 * instead of as odd colors on a phone.
 */
public final class ImageTensors {
    private ImageTensors() {}

    /**
     * ARGB_8888 pixels (as {@code Bitmap.getPixels} returns them) to a CHW float tensor with R, G,
     * B planes, each value {@code ((c / 255f) - mean[ch]) / std[ch]}; alpha is ignored.
     *
     * <p>Every step is a single float operation in the same order as torchvision's
     * {@code to_tensor} (uint8 to float32, divided by 255) followed by {@code normalize}
     * (subtract, then divide, in float32), so the results match Python bit for bit.
     */
    public static float[] argbToChw(int[] argb, int width, int height, float[] mean, float[] std) {
        return argbToChw(argb, width, height, mean, std, new float[3 * planeSize(width, height)]);
    }

    /**
     * {@link #argbToChw(int[], int, int, float[], float[])} into {@code chw} (3 x width x height
     * floats, every one overwritten), which it returns. A camera or video app converts frame
     * after frame: reusing one array spares it allocating and zeroing a tensor per frame, which
     * on a 1920x1080 frame took longer than the conversion itself (benchmarks/bench_pixels.py).
     */
    public static float[] argbToChw(int[] argb, int width, int height, float[] mean, float[] std,
            float[] chw) {
        int plane = planeSize(width, height);
        requireLength("argb", argb, plane);
        requireChannels(mean, std);
        requireLength("chw", chw, 3 * plane);
        // One plane per loop, each a shift, a mask, an int-to-float conversion, a subtraction and
        // a division per pixel: loops of that shape are vectorized by compilers that vectorize
        // int-to-float conversions (HotSpot's C2 since JDK 20, ART's loop vectorizer); the float
        // operations are those of the one-line formula, so the bits are too.
        for (int ch = 0; ch < 3; ch++) {
            int shift = 16 - 8 * ch;
            float m = mean[ch];
            float s = std[ch];
            int base = ch * plane;
            for (int i = 0; i < plane; i++) {
                chw[base + i] = ((((argb[i] >>> shift) & 0xFF) / 255.0f) - m) / s;
            }
        }
        return chw;
    }

    /**
     * CHW float tensor (R, G, B planes) to opaque ARGB_8888 pixels.
     *
     * <p>The inverse of {@link #argbToChw}: a value {@code x} stands for the picture value
     * {@code x * std[c] + mean[c]}. For a model whose output range is [lo, hi] pass
     * mean = -lo / (hi - lo) and std = 1 / (hi - lo) (a tanh generator: 0.5 and 0.5).
     * The picture value is clamped to [0, 1] (NaN becomes 0) and rounded half up:
     * {@code floor(v * 255 + 0.5)}, all in float.
     */
    public static int[] chwToArgb(float[] chw, int width, int height, float[] mean, float[] std) {
        return chwToArgb(chw, width, height, mean, std, new int[planeSize(width, height)]);
    }

    /**
     * {@link #chwToArgb(float[], int, int, float[], float[])} into {@code argb} (width x height
     * ints, every one overwritten), which it returns: an app showing frame after frame reuses one
     * array, as {@code Bitmap.setPixels} and {@code Bitmap.createBitmap} copy it.
     */
    public static int[] chwToArgb(float[] chw, int width, int height, float[] mean, float[] std,
            int[] argb) {
        int plane = planeSize(width, height);
        requireLength("chw", chw, 3 * plane);
        requireChannels(mean, std);
        requireLength("argb", argb, plane);
        // One plane per pass, like argbToChw: a compiler that vectorizes float-to-int conversions
        // (HotSpot's C2 since JDK 20) turns each into vector code, which one loop reading three
        // planes with different offsets did not become.
        float mr = mean[0], sr = std[0];
        for (int i = 0; i < plane; i++) {
            argb[i] = 0xFF000000 | (unitToLevel(chw[i] * sr + mr) << 16);
        }
        float mg = mean[1], sg = std[1];
        for (int i = 0; i < plane; i++) {
            argb[i] |= unitToLevel(chw[plane + i] * sg + mg) << 8;
        }
        float mb = mean[2], sb = std[2];
        for (int i = 0; i < plane; i++) {
            argb[i] |= unitToLevel(chw[2 * plane + i] * sb + mb);
        }
        return argb;
    }

    /**
     * {@code floor(clamp(v, 0, 1) * 255 + 0.5)} with NaN as 0, without float clamping or
     * Math.floor: for v in (0, 1] the float {@code v * 255 + 0.5} lies in (0.5, 255.5], where the
     * int cast (truncation) is floor; v > 1 (or +inf) gives at least 255.5 (float rounding is
     * monotone and 1 * 255 + 0.5 is exact), so at least 255 after the cast; v <= 0 (or -inf) gives
     * at most 0.5, so at most 0; NaN casts to 0. Clamping the int to [0, 255] therefore gives the
     * same byte as clamping v first (tests/test_pixel_conversions.py checks it densely).
     */
    private static int unitToLevel(float v) {
        return Math.min(Math.max((int) (v * 255.0f + 0.5f), 0), 255);
    }

    /**
     * A channels-last buffer (N, spatial..., C order, as pytorch_android returns a tensor whose
     * memory format is CHANNELS_LAST or CHANNELS_LAST_3D) to the contiguous N, C, spatial...
     * order of its {@code shape}, which lists the logical NC(D)HW sizes.
     */
    public static float[] channelsLastToContiguous(float[] data, long[] shape) {
        if (shape.length < 3) {
            throw new IllegalArgumentException(
                    "a channels-last tensor has at least 3 dimensions, got " + Arrays.toString(shape));
        }
        requireShape(data, shape);
        float[] out = new float[data.length];
        int batch = (int) shape[0];
        int channels = (int) shape[1];
        if (out.length == 0) {
            return out;
        }
        int spatial = out.length / (batch * channels);
        for (int n = 0; n < batch; n++) {
            for (int s = 0; s < spatial; s++) {
                int from = (n * spatial + s) * channels;
                for (int c = 0; c < channels; c++) {
                    out[(n * channels + c) * spatial + s] = data[from + c];
                }
            }
        }
        return out;
    }

    /**
     * Softmax over the whole array. The maximum is subtracted first so large logits cannot
     * overflow exp; sums run in double. NaN anywhere makes every result NaN, like torch.
     */
    public static float[] softmax(float[] logits) {
        if (logits == null || logits.length == 0) {
            throw new IllegalArgumentException("logits must not be empty");
        }
        float max = Float.NEGATIVE_INFINITY;
        boolean nan = false;
        for (float x : logits) {
            if (Float.isNaN(x)) {
                nan = true;
            } else if (x > max) {
                max = x;
            }
        }
        float[] out = new float[logits.length];
        if (nan) {
            Arrays.fill(out, Float.NaN);
            return out;
        }
        double[] e = new double[logits.length];
        double sum = 0.0;
        for (int i = 0; i < logits.length; i++) {
            e[i] = Math.exp((double) logits[i] - max);
            sum += e[i];
        }
        for (int i = 0; i < logits.length; i++) {
            out[i] = (float) (e[i] / sum);
        }
        return out;
    }

    /**
     * Indices of the {@code k} largest scores, largest first. Equal scores keep the lower index
     * first, so results are reproducible; NaN ranks below every number, so a broken output cannot
     * crowd real classes out. {@code k} larger than the array is clipped.
     */
    public static int[] topK(float[] scores, int k) {
        if (scores == null) {
            throw new IllegalArgumentException("scores must not be null");
        }
        if (k < 0) {
            throw new IllegalArgumentException("k must be >= 0, got " + k);
        }
        int n = Math.min(k, scores.length);
        Integer[] order = new Integer[scores.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Comparator<Integer> byScore = (a, b) -> {
            float x = scores[a];
            float y = scores[b];
            boolean xNaN = Float.isNaN(x);
            boolean yNaN = Float.isNaN(y);
            if (xNaN != yNaN) {
                return xNaN ? 1 : -1;
            }
            if (!xNaN && x != y) {
                return x > y ? -1 : 1;
            }
            return Integer.compare(a, b);
        };
        Arrays.sort(order, byScore);
        int[] top = new int[n];
        for (int i = 0; i < n; i++) {
            top[i] = order[i];
        }
        return top;
    }

    /**
     * Per pixel, the class with the largest score in a CHW score tensor ({@code classes} planes of
     * {@code height * width}). Ties go to the lower class; NaN never beats a number.
     */
    public static int[] argmaxChannels(float[] chw, int classes, int height, int width) {
        if (classes <= 0) {
            throw new IllegalArgumentException("classes must be > 0, got " + classes);
        }
        int plane = planeSize(width, height);
        long total = (long) classes * plane;
        if (total > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("tensor too large: " + total + " values");
        }
        requireLength("chw", chw, (int) total);
        int[] classMap = new int[plane];
        for (int i = 0; i < plane; i++) {
            int best = 0;
            float bestScore = chw[i];
            for (int c = 1; c < classes; c++) {
                float v = chw[c * plane + i];
                if (v > bestScore || (Float.isNaN(bestScore) && !Float.isNaN(v))) {
                    best = c;
                    bestScore = v;
                }
            }
            classMap[i] = best;
        }
        return classMap;
    }

    /** Throws unless {@code shape} has no negative size and its sizes multiply to data.length. */
    static void requireShape(float[] data, long[] shape) {
        if (data == null || shape == null) {
            throw new IllegalArgumentException("data and shape must not be null");
        }
        long count = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            }
            count *= d;
        }
        if (count != data.length) {
            throw new IllegalArgumentException(
                    "shape " + Arrays.toString(shape) + " needs " + count + " values, got "
                            + data.length);
        }
    }

    // ---- luma (Y) models: super-resolution networks such as ESPCN see only the Y plane ----
    // YCbCr here is JFIF's (JPEG, BT.601 full range, what Pillow's "YCbCr" mode uses), kept in
    // float and not rounded to bytes. Each expression is evaluated left to right in float, exactly
    // as the generator's numpy reference and the C++ core, so all three agree to the bit.

    /** ARGB_8888 pixels to Y, Cb, Cr planes (each 0..255 as float); alpha is ignored. */
    public static float[] argbToYcbcr(int[] argb, int width, int height) {
        int plane = planeSize(width, height);
        requireLength("argb", argb, plane);
        float[] out = new float[3 * plane];
        for (int i = 0; i < plane; i++) {
            float r = (argb[i] >>> 16) & 0xFF;
            float g = (argb[i] >>> 8) & 0xFF;
            float b = argb[i] & 0xFF;
            out[i] = 0.299f * r + 0.587f * g + 0.114f * b;
            out[plane + i] = 128f - 0.168736f * r - 0.331264f * g + 0.5f * b;
            out[2 * plane + i] = 128f + 0.5f * r - 0.418688f * g - 0.081312f * b;
        }
        return out;
    }

    /** The input tensor of a luma model: one plane, {@code ((Y / 255) - mean) / std}. */
    public static float[] argbToY(int[] argb, int width, int height, float mean, float std) {
        if (!Float.isFinite(mean) || !Float.isFinite(std) || std == 0.0f) {
            throw new IllegalArgumentException("mean/std must be finite and std non-zero");
        }
        int plane = planeSize(width, height);
        float[] ycbcr = argbToYcbcr(argb, width, height);
        float[] y = new float[plane];
        for (int i = 0; i < plane; i++) {
            y[i] = ((ycbcr[i] / 255.0f) - mean) / std;
        }
        return y;
    }

    /**
     * Bilinear resize of one plane with half-pixel centers (torch's {@code align_corners=False},
     * no antialiasing): source coordinate {@code (dst + 0.5) * (in / out) - 0.5}, clamped at 0;
     * neighbours {@code floor(src)} and {@code min(floor(src) + 1, in - 1)}; value
     * {@code (a * (1 - lx) + b * lx) * (1 - ly) + (c * (1 - lx) + d * lx) * ly}, all in float.
     */
    public static float[] resizeBilinear(float[] plane, int inWidth, int inHeight, int outWidth,
            int outHeight) {
        requireLength("plane", plane, planeSize(inWidth, inHeight));
        int outPlane = planeSize(outWidth, outHeight);
        int[] x0 = new int[outWidth];
        int[] x1 = new int[outWidth];
        float[] lx = new float[outWidth];
        axis(inWidth, outWidth, x0, x1, lx);
        int[] y0 = new int[outHeight];
        int[] y1 = new int[outHeight];
        float[] ly = new float[outHeight];
        axis(inHeight, outHeight, y0, y1, ly);
        float[] out = new float[outPlane];
        for (int y = 0; y < outHeight; y++) {
            int top = y0[y] * inWidth;
            int bottom = y1[y] * inWidth;
            float hy = 1f - ly[y];
            for (int x = 0; x < outWidth; x++) {
                float hx = 1f - lx[x];
                float t = plane[top + x0[x]] * hx + plane[top + x1[x]] * lx[x];
                float b = plane[bottom + x0[x]] * hx + plane[bottom + x1[x]] * lx[x];
                out[y * outWidth + x] = t * hy + b * ly[y];
            }
        }
        return out;
    }

    private static void axis(int in, int out, int[] i0, int[] i1, float[] frac) {
        float scale = (float) in / (float) out;
        for (int d = 0; d < out; d++) {
            float src = (d + 0.5f) * scale - 0.5f;
            if (src < 0f) {
                src = 0f;
            }
            i0[d] = (int) src;
            i1[d] = Math.min(i0[d] + 1, in - 1);
            frac[d] = src - i0[d];
        }
    }

    /**
     * The picture of a luma model: its Y output ({@code outWidth x outHeight}, picture value
     * {@code y * std + mean} clamped to [0, 1], NaN to 0, times 255) with the Cb and Cr of the
     * input picture resized to the output size ({@link #resizeBilinear}), converted back with
     * JFIF's inverse (R = Y + 1.402 Cr', G = Y - 0.344136 Cb' - 0.714136 Cr', B = Y + 1.772 Cb',
     * Cb' = Cb - 128, Cr' = Cr - 128), clamped to [0, 255] and rounded half up. Opaque.
     */
    public static int[] yToArgb(float[] y, int outWidth, int outHeight, float mean, float std,
            int[] inputArgb, int inWidth, int inHeight) {
        int outPlane = planeSize(outWidth, outHeight);
        requireLength("y", y, outPlane);
        int inPlane = planeSize(inWidth, inHeight);
        float[] ycbcr = argbToYcbcr(inputArgb, inWidth, inHeight);
        float[] cb = resizeBilinear(Arrays.copyOfRange(ycbcr, inPlane, 2 * inPlane),
                inWidth, inHeight, outWidth, outHeight);
        float[] cr = resizeBilinear(Arrays.copyOfRange(ycbcr, 2 * inPlane, 3 * inPlane),
                inWidth, inHeight, outWidth, outHeight);
        int[] argb = new int[outPlane];
        for (int i = 0; i < outPlane; i++) {
            float v = y[i] * std + mean;
            if (!(v > 0.0f)) {
                v = 0.0f;
            } else if (v > 1.0f) {
                v = 1.0f;
            }
            float luma = v * 255f;
            float cbc = cb[i] - 128f;
            float crc = cr[i] - 128f;
            int r = level(luma + 1.402f * crc);
            int g = level(luma - 0.344136f * cbc - 0.714136f * crc);
            int b = level(luma + 1.772f * cbc);
            argb[i] = 0xFF000000 | (r << 16) | (g << 8) | b;
        }
        return argb;
    }

    /** Clamp to [0, 255] and round half up. */
    private static int level(float v) {
        if (!(v > 0.0f)) {
            v = 0.0f;
        } else if (v > 255.0f) {
            v = 255.0f;
        }
        return (int) Math.floor(v + 0.5f);
    }

    private static int planeSize(int width, int height) {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException(
                    "width and height must be > 0, got " + width + "x" + height);
        }
        long plane = (long) width * height;
        if (3 * plane > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("image too large: " + width + "x" + height);
        }
        return (int) plane;
    }

    private static void requireLength(String name, int[] a, int expected) {
        if (a == null) {
            throw new IllegalArgumentException(name + " must not be null");
        }
        if (a.length != expected) {
            throw new IllegalArgumentException(
                    name + " has " + a.length + " values, expected " + expected);
        }
    }

    private static void requireLength(String name, float[] a, int expected) {
        if (a == null) {
            throw new IllegalArgumentException(name + " must not be null");
        }
        if (a.length != expected) {
            throw new IllegalArgumentException(
                    name + " has " + a.length + " values, expected " + expected);
        }
    }

    private static void requireChannels(float[] mean, float[] std) {
        if (mean == null || mean.length != 3) {
            throw new IllegalArgumentException("mean must have 3 values (R, G, B)");
        }
        if (std == null || std.length != 3) {
            throw new IllegalArgumentException("std must have 3 values (R, G, B)");
        }
        for (int ch = 0; ch < 3; ch++) {
            if (!Float.isFinite(std[ch]) || std[ch] == 0.0f) {
                throw new IllegalArgumentException(
                        "std[" + ch + "] must be finite and non-zero, got " + std[ch]);
            }
            if (!Float.isFinite(mean[ch])) {
                throw new IllegalArgumentException(
                        "mean[" + ch + "] must be finite, got " + mean[ch]);
            }
        }
    }
}
