import java.util.Random;

import com.example.pixels.ImageTensors;

/**
 * Proves ImageTensors.argbToChw / chwToArgb bit-identical to PixelReference (the code they
 * replaced) for many normalizations: every byte value of every channel, and for chwToArgb every
 * float within ULPS steps of each of the 255 places where the output level changes (found by
 * bisection on the reference, which is monotone in x: each of its float steps is), of the clamp
 * edges, plus random bit patterns (NaN payloads, infinities, subnormals) and the special values.
 * Prints "checked N values" and exits 0, or prints the first difference and exits 1.
 * Arg "exhaustive M S": instead, every one of the 2^32 floats for mean M and std S.
 */
public final class PixelIdentity {
    private static final int ULPS = 3000;
    private static long checked;

    public static void main(String[] args) {
        if (args.length == 3 && args[0].equals("exhaustive")) {
            exhaustive(Float.parseFloat(args[1]), Float.parseFloat(args[2]));
            return;
        }
        Random random = new Random(9);
        float[][] params = {  // {mean, std}: tanh and sigmoid outputs, ImageNet, odd ones
            {0.5f, 0.5f}, {0f, 1f}, {0.485f, 0.229f}, {0.406f, 0.225f}, {0.3f, -0.7f},
            {-3f, 1000f}, {0.25f, 1e-3f}, {2f, 1f / 255f}, {0.5f, -0.5f}, {1f, 3e-6f},
        };
        float[][] all = new float[params.length + 12][];
        System.arraycopy(params, 0, all, 0, params.length);
        for (int i = params.length; i < all.length; i++) {
            float s = (float) Math.exp(random.nextDouble() * 16 - 8);
            all[i] = new float[] {(float) (random.nextDouble() * 4 - 2), random.nextBoolean() ? s : -s};
        }
        for (int a = 0; a < all.length; a++) {
            float[] p = all[a];
            float[] q = all[(a + 1) % all.length];
            float[] r = all[(a + 2) % all.length];
            float[] mean = {p[0], q[0], r[0]};
            float[] std = {p[1], q[1], r[1]};
            checkArgbToChw(mean, std, random);
            checkChwToArgb(new float[] {p[0], p[0], p[0]}, new float[] {p[1], p[1], p[1]}, nearSteps(p[0], p[1]));
            checkChwToArgb(mean, std, randomFloats(random, 300_000));
        }
        System.out.println("checked " + checked + " values");
    }

    private static void checkArgbToChw(float[] mean, float[] std, Random random) {
        int n = 256 + 100_000;
        int[] argb = new int[n];
        for (int v = 0; v < 256; v++) {  // every byte value in every channel, any alpha
            argb[v] = (random.nextInt(256) << 24) | (v << 16) | (((v * 7) & 0xFF) << 8) | ((v * 13 + 5) & 0xFF);
        }
        for (int i = 256; i < n; i++) {
            argb[i] = random.nextInt();
        }
        float[] expected = PixelReference.argbToChw(argb, n, 1, mean, std);
        compareChw(argb, n, mean, std, expected, ImageTensors.argbToChw(argb, n, 1, mean, std));
        // The reusing form must overwrite every value of a used array (NaN: never a right answer).
        float[] reused = new float[3 * n];
        java.util.Arrays.fill(reused, Float.NaN);
        float[] returned = ImageTensors.argbToChw(argb, n, 1, mean, std, reused);
        if (returned != reused) {
            fail("argbToChw", "the array it returns", mean, std, "not the array it was given");
        }
        compareChw(argb, n, mean, std, expected, reused);
        checked += expected.length;
    }

    private static void compareChw(int[] argb, int n, float[] mean, float[] std, float[] expected, float[] actual) {
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
                fail("argbToChw", "pixel " + Integer.toHexString(argb[i % n]) + " plane " + i / n,
                        mean, std, expected[i] + " vs " + actual[i]);
            }
        }
    }

    private static void checkChwToArgb(float[] mean, float[] std, float[] values) {
        int n = values.length;
        float[] chw = new float[3 * n];
        for (int c = 0; c < 3; c++) {  // each channel sees the values in another order
            for (int i = 0; i < n; i++) {
                chw[c * n + i] = values[(i + c * 7919) % n];
            }
        }
        int[] expected = PixelReference.chwToArgb(chw, n, 1, mean, std);
        compareArgb(chw, n, mean, std, expected, ImageTensors.chwToArgb(chw, n, 1, mean, std));
        int[] reused = new int[n];
        java.util.Arrays.fill(reused, 0x00FFFFFF);  // transparent white: bits no output has
        int[] returned = ImageTensors.chwToArgb(chw, n, 1, mean, std, reused);
        if (returned != reused) {
            fail("chwToArgb", "the array it returns", mean, std, "not the array it was given");
        }
        compareArgb(chw, n, mean, std, expected, reused);
        checked += 3L * n;
    }

    private static void compareArgb(float[] chw, int n, float[] mean, float[] std, int[] expected, int[] actual) {
        for (int i = 0; i < n; i++) {
            if (expected[i] != actual[i]) {
                fail("chwToArgb", "pixel " + i + " (" + chw[i] + ", " + chw[n + i] + ", " + chw[2 * n + i] + ")",
                        mean, std, Integer.toHexString(expected[i]) + " vs " + Integer.toHexString(actual[i]));
            }
        }
    }

    /** Floats within ULPS of every level change of x -> level(x * s + m), and of the clamp edges. */
    private static float[] nearSteps(float m, float s) {
        int[] centers = new int[255 + 2];
        for (int k = 1; k <= 255; k++) {
            centers[k - 1] = firstKeyAtLeast(k, m, s);
        }
        centers[255] = key((0f - m) / s);
        centers[256] = key((1f - m) / s);
        float[] out = new float[centers.length * (2 * ULPS + 1) + 16];
        int at = 0;
        for (int center : centers) {
            for (int d = -ULPS; d <= ULPS; d++) {
                out[at++] = fromKey(center + d);
            }
        }
        float[] special = {Float.NaN, Float.intBitsToFloat(0xFFC00001), Float.intBitsToFloat(0x7F800001),
            Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0f, -0f, Float.MIN_VALUE, -Float.MIN_VALUE,
            Float.MAX_VALUE, -Float.MAX_VALUE, 1f, -1f, 255f, 0.5f, -0.5f};
        System.arraycopy(special, 0, out, at, special.length);
        return out;
    }

    /** The smallest float (in value order) whose reference level is k when std > 0 (the
     *  largest below which it is below k when std < 0); the reference is monotone in x. */
    private static int firstKeyAtLeast(int k, float m, float s) {
        int lo = key(Float.NEGATIVE_INFINITY);
        int hi = key(Float.POSITIVE_INFINITY);
        while (lo < hi) {
            int mid = (int) (((long) lo + hi) >> 1);
            int level = PixelReference.level(fromKey(mid), s, m);
            boolean past = s > 0 ? level >= k : level < k;
            if (past) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        return lo;
    }

    /** Float bits as an int that orders like the float's value (-0 just below +0). */
    private static int key(float f) {
        int bits = Float.floatToRawIntBits(f);
        return bits >= 0 ? bits : bits ^ 0x7FFFFFFF;
    }

    private static float fromKey(int key) {
        return Float.intBitsToFloat(key >= 0 ? key : key ^ 0x7FFFFFFF);
    }

    private static float[] randomFloats(Random random, int n) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            // Half any bit pattern (NaNs, infinities, subnormals, huge), half in the picture range.
            out[i] = i % 2 == 0 ? Float.intBitsToFloat(random.nextInt()) : random.nextFloat() * 4 - 2;
        }
        return out;
    }

    private static void exhaustive(float m, float s) {
        float[] mean = {m, m, m};
        float[] std = {s, s, s};
        int n = 1 << 20;
        float[] chw = new float[3 * n];
        for (long start = 0; start < (1L << 32); start += 3L * n) {
            int count = (int) Math.min(3L * n, (1L << 32) - start);
            for (int i = 0; i < 3 * n; i++) {
                chw[i] = Float.intBitsToFloat((int) (start + (i % count)));
            }
            int[] expected = PixelReference.chwToArgb(chw, n, 1, mean, std);
            int[] actual = ImageTensors.chwToArgb(chw, n, 1, mean, std);
            for (int i = 0; i < n; i++) {
                if (expected[i] != actual[i]) {
                    fail("chwToArgb", "pixel " + i + " of block " + start, mean, std,
                            Integer.toHexString(expected[i]) + " vs " + Integer.toHexString(actual[i]));
                }
            }
            checked += count;
        }
        System.out.println("checked " + checked + " values");
    }

    private static void fail(String what, String where, float[] mean, float[] std, String detail) {
        System.out.println(what + " differs from the reference at " + where + ", mean "
                + java.util.Arrays.toString(mean) + ", std " + java.util.Arrays.toString(std) + ": " + detail);
        System.exit(1);
    }
}
