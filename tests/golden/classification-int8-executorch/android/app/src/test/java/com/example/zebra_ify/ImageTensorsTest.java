package com.example.zebra_ify;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.Locale;
import org.junit.Test;

/**
 * The pixel/tensor conversions against what Python computed for this model (golden vectors), plus
 * hand-made cases for the edges the goldens may not reach.
 */
public class ImageTensorsTest {
    private static final int WIDTH = 8;
    private static final int HEIGHT = 8;
    private static final float[] MEAN = { 0.485f, 0.456f, 0.406f };
    private static final float[] STD = { 0.229f, 0.224f, 0.225f };
    private static final long[] OUTPUT_SHAPE = { 1, 3 };
    private static final int NUM_CLASSES = 3;
    private static final float[] ZERO = {0f, 0f, 0f};
    private static final float[] ONE = {1f, 1f, 1f};

    // ---- against Python ----

    @Test
    public void inputTensorMatchesTorchvision() throws Exception {
        int[] argb = Goldens.ints("sample_argb.bin");
        float[] expected = Goldens.floats("input_chw.bin");
        assertEquals("sample_argb.bin pixels", WIDTH * HEIGHT, argb.length);
        float[] actual = ImageTensors.argbToChw(argb, WIDTH, HEIGHT, MEAN, STD);
        assertEquals("input_chw.bin values", expected.length, actual.length);
        int differentBits = 0;
        for (int i = 0; i < actual.length; i++) {
            if (Float.floatToIntBits(actual[i]) != Float.floatToIntBits(expected[i])) {
                differentBits++;
            }
        }
        double diff = Goldens.maxAbsDiff(actual, expected);
        assertTrue(String.format(Locale.ROOT,
                        "argbToChw differs from torchvision: max abs diff %g, %d of %d values not"
                                + " bit-identical", diff, differentBits, actual.length),
                diff <= 1e-6);
    }

    @Test
    public void softmaxMatchesTorch() throws Exception {
        float[] logits = Goldens.floats("output_chw.bin");
        float[] expected = Goldens.floats("softmax.bin");
        assertEquals("classes in output_chw.bin", NUM_CLASSES, logits.length);
        double diff = Goldens.maxAbsDiff(ImageTensors.softmax(logits), expected);
        assertTrue("softmax max abs diff " + diff, diff <= 1e-6);
    }

    @Test
    public void topKMatchesTorch() throws Exception {
        float[] logits = Goldens.floats("output_chw.bin");
        float[] probs = Goldens.floats("softmax.bin");
        int[] expected = Goldens.ints("top5.bin");
        assertSameRanking("topK(logits)", probs, expected, ImageTensors.topK(logits, expected.length));
        assertSameRanking("topK(softmax)", probs, expected, ImageTensors.topK(probs, expected.length));
        assertSameRanking("topK(app softmax)", probs, expected,
                ImageTensors.topK(ImageTensors.softmax(logits), expected.length));
    }

    /**
     * Same classes at each rank, except that classes whose probabilities tie (within the softmax
     * tolerance) may come in any order: float32 softmax rounds tiny logit gaps into exact ties.
     */
    static void assertSameRanking(String what, float[] probs, int[] expected, int[] actual) {
        assertEquals(what + " length", expected.length, actual.length);
        for (int r = 0; r < expected.length; r++) {
            double diff = Math.abs((double) probs[actual[r]] - probs[expected[r]]);
            assertTrue(String.format(Locale.ROOT,
                    "%s rank %d: class %d (p=%.9f) where torch ranks class %d (p=%.9f)", what, r + 1,
                    actual[r], probs[actual[r]], expected[r], probs[expected[r]]), diff <= 1e-6);
        }
    }

    // ---- channelsLastToContiguous ----

    /** A 1x3x2x2 tensor: the buffer holds (R, G, B) per pixel, the result holds R, G, B planes. */
    @Test
    public void channelsLastBufferBecomesChwPlanes() {
        float[] nhwc = {0f, 10f, 20f, 1f, 11f, 21f, 2f, 12f, 22f, 3f, 13f, 23f};
        float[] nchw = {0f, 1f, 2f, 3f, 10f, 11f, 12f, 13f, 20f, 21f, 22f, 23f};
        assertArrayEquals(nchw, ImageTensors.channelsLastToContiguous(nhwc, new long[] {1, 3, 2, 2}), 0f);
    }

    /** CHANNELS_LAST_3D (N, D, H, W, C) and a batch of two follow the same rule. */
    @Test
    public void channelsLast3dAndBatchesKeepEveryValue() {
        float[] ndhwc = new float[2 * 2 * 3];
        for (int i = 0; i < ndhwc.length; i++) {
            ndhwc[i] = i;
        }
        // shape [2, 2, 3, 1, 1]: per batch 3 spatial positions x 2 channels.
        float[] expected = {0f, 2f, 4f, 1f, 3f, 5f, 6f, 8f, 10f, 7f, 9f, 11f};
        assertArrayEquals(expected, ImageTensors.channelsLastToContiguous(ndhwc, new long[] {2, 2, 3, 1, 1}), 0f);
    }

    @Test
    public void channelsLastRejectsAShapeThatDoesNotFit() {
        try {
            ImageTensors.channelsLastToContiguous(new float[5], new long[] {1, 3, 2, 1});
            fail("expected IllegalArgumentException");
        } catch (IllegalArgumentException expected) {
            assertTrue(expected.getMessage().contains("needs 6 values, got 5"));
        }
    }

    // ---- argbToChw ----

    @Test
    public void argbToChwSplitsRgbPlanesAndIgnoresAlpha() {
        int[] argb = {0xFF102030, 0x00405060};
        float[] chw = ImageTensors.argbToChw(argb, 2, 1, ZERO, ONE);
        float[] expected = {
            0x10 / 255f, 0x40 / 255f, 0x20 / 255f, 0x50 / 255f, 0x30 / 255f, 0x60 / 255f
        };
        assertArrayEquals(expected, chw, 0f);
        float[] opaque = ImageTensors.argbToChw(new int[] {0xFF405060}, 1, 1, MEAN, STD);
        float[] clear = ImageTensors.argbToChw(new int[] {0x00405060}, 1, 1, MEAN, STD);
        float[] half = ImageTensors.argbToChw(new int[] {0x80405060}, 1, 1, MEAN, STD);
        assertArrayEquals(opaque, clear, 0f);
        assertArrayEquals(opaque, half, 0f);
    }

    /**
     * The overloads an app calls frame after frame write into the array they are given (every
     * value, whatever it held) and return it, with the bits of the allocating forms; an array of
     * the wrong size is refused, not partly written.
     */
    @Test
    public void reusingFormsOverwriteTheGivenArray() {
        // Pixels made here rather than the sample picture: a project whose model takes a tensor
        // ships no picture, and its apps still carry these conversions.
        int[] argb = new int[WIDTH * HEIGHT];
        for (int i = 0; i < argb.length; i++) {
            argb[i] = i * 0x9E3779B1;
        }
        float[] chw = new float[3 * WIDTH * HEIGHT];
        java.util.Arrays.fill(chw, Float.NaN);
        assertTrue(chw == ImageTensors.argbToChw(argb, WIDTH, HEIGHT, MEAN, STD, chw));
        assertArrayEquals(ImageTensors.argbToChw(argb, WIDTH, HEIGHT, MEAN, STD), chw, 0f);
        int[] pixels = new int[WIDTH * HEIGHT];
        java.util.Arrays.fill(pixels, 0x00FFFFFF);
        assertTrue(pixels == ImageTensors.chwToArgb(chw, WIDTH, HEIGHT, MEAN, STD, pixels));
        assertArrayEquals(ImageTensors.chwToArgb(chw, WIDTH, HEIGHT, MEAN, STD), pixels);
        expectIllegal("chw has", () -> ImageTensors.argbToChw(argb, WIDTH, HEIGHT, MEAN, STD, new float[3]));
        expectIllegal("argb has", () -> ImageTensors.chwToArgb(chw, WIDTH, HEIGHT, MEAN, STD, new int[1]));
    }

    /** Each step in float, like torch: the same formula evaluated in double differs in places. */
    @Test
    public void argbToChwRoundsLikeFloat32() {
        float[] mean = {0.485f, 0.456f, 0.406f};
        float[] std = {0.229f, 0.224f, 0.225f};
        int[] argb = new int[256];
        for (int c = 0; c < 256; c++) {
            argb[c] = 0xFF000000 | (c << 16) | (c << 8) | c;
        }
        float[] chw = ImageTensors.argbToChw(argb, 256, 1, mean, std);
        int viaDouble = 0;
        for (int ch = 0; ch < 3; ch++) {
            for (int c = 0; c < 256; c++) {
                float x = c / 255.0f;
                float expected = (x - mean[ch]) / std[ch];
                assertEquals("channel " + ch + " value " + c,
                        Float.floatToIntBits(expected), Float.floatToIntBits(chw[ch * 256 + c]));
                float doubled = (float) ((c / 255.0 - mean[ch]) / std[ch]);
                if (doubled != expected) {
                    viaDouble++;
                }
            }
        }
        assertTrue("the double formula must differ somewhere for this test to mean anything",
                viaDouble > 0);
    }

    @Test
    public void argbToChwRejectsBadArguments() {
        expectIllegal("width", () -> ImageTensors.argbToChw(new int[0], 0, 1, ZERO, ONE));
        expectIllegal("height", () -> ImageTensors.argbToChw(new int[2], 2, -1, ZERO, ONE));
        expectIllegal("argb", () -> ImageTensors.argbToChw(new int[3], 2, 2, ZERO, ONE));
        expectIllegal("argb", () -> ImageTensors.argbToChw(null, 2, 2, ZERO, ONE));
        expectIllegal("mean", () -> ImageTensors.argbToChw(new int[1], 1, 1, new float[2], ONE));
        expectIllegal("std", () -> ImageTensors.argbToChw(new int[1], 1, 1, ZERO, null));
        expectIllegal("std", () -> ImageTensors.argbToChw(
                new int[1], 1, 1, ZERO, new float[] {1f, 0f, 1f}));
        expectIllegal("std", () -> ImageTensors.argbToChw(
                new int[1], 1, 1, ZERO, new float[] {1f, 1f, Float.NaN}));
        expectIllegal("too large", () -> ImageTensors.argbToChw(
                new int[1], 65536, 65536, ZERO, ONE));
    }

    // ---- chwToArgb ----

    @Test
    public void chwToArgbRoundsHalfUp() {
        int ties = 0;
        for (int k = 0; k < 255; k++) {
            float x = (k + 0.5f) / 255.0f;
            if (x * 255.0f != k + 0.5f) {
                continue;
            }
            ties++;
            int[] argb = ImageTensors.chwToArgb(new float[] {x, x, x}, 1, 1, ZERO, ONE);
            int expected = k + 1;
            assertEquals("value " + k + ".5", 0xFF000000 | expected << 16 | expected << 8 | expected,
                    argb[0]);
        }
        assertTrue("only " + ties + " exact .5 cases; the test needs some", ties > 50);
        int[] nearHalf = ImageTensors.chwToArgb(
                new float[] {0f, 0.5f, Math.nextDown(0.5f)}, 1, 1, ZERO, ONE);
        assertEquals("127.5 rounds up, just below it rounds down", 0xFF00807F, nearHalf[0]);
    }

    @Test
    public void chwToArgbClampsAndMapsNaNToZero() {
        // 4 pixels; R plane, then G, then B.
        float[] chw = {
            -0.1f, 1.5f, Float.NaN, Float.POSITIVE_INFINITY,
            Float.NEGATIVE_INFINITY, 1.0f, 0.0f, 2.0f,
            -5f, 0.25f, 1.0001f, Float.NaN
        };
        int[] expected = {0xFF000000, 0xFFFFFF40, 0xFF0000FF, 0xFFFFFF00};
        assertArrayEquals(expected, ImageTensors.chwToArgb(chw, 4, 1, ZERO, ONE));
    }

    /** mean/std describe the output encoding: a tanh generator (range [-1, 1]) uses -1 and 2. */
    @Test
    public void chwToArgbUsesOutputRange() {
        // A tanh output in [-1, 1]: mean = -lo / (hi - lo) = 0.5, std = 1 / (hi - lo) = 0.5.
        float[] half = {0.5f, 0.5f, 0.5f};
        int[] argb = ImageTensors.chwToArgb(new float[] {-1f, 0f, 1f}, 1, 1, half, half);
        assertEquals(0xFF0080FF, argb[0]);
    }

    @Test
    public void chwToArgbInvertsArgbToChwForEveryLevel() {
        int[] argb = new int[256];
        for (int c = 0; c < 256; c++) {
            argb[c] = 0xFF000000 | (c << 16) | ((255 - c) << 8) | (c ^ 0x5A);
        }
        float[] chw = ImageTensors.argbToChw(argb, 16, 16, ZERO, ONE);
        assertArrayEquals(argb, ImageTensors.chwToArgb(chw, 16, 16, ZERO, ONE));
    }

    @Test
    public void chwToArgbRejectsBadArguments() {
        expectIllegal("chw", () -> ImageTensors.chwToArgb(new float[5], 1, 2, ZERO, ONE));
        expectIllegal("width", () -> ImageTensors.chwToArgb(new float[3], 0, 1, ZERO, ONE));
        expectIllegal("std", () -> ImageTensors.chwToArgb(new float[3], 1, 1, ZERO, ZERO));
        expectIllegal("mean", () -> ImageTensors.chwToArgb(
                new float[3], 1, 1, new float[] {0f, Float.NaN, 0f}, ONE));
    }

    // ---- YCbCr (luma models) ----

    @Test
    public void ycbcrOfKnownColors() {
        int[] argb = {0xFFFFFFFF, 0xFF000000, 0xFFFF0000, 0xFF0000FF};
        float[] p = ImageTensors.argbToYcbcr(argb, 4, 1);
        float[] expected = {
            255f, 0f, 76.245f, 29.07f,
            128f, 128f, 84.97232f, 255.5f,
            128f, 128f, 255.5f, 107.26544f
        };
        assertArrayEquals(expected, p, 1e-3f);
        float[] y = ImageTensors.argbToY(argb, 4, 1, 0.5f, 0.5f);
        assertEquals((p[2] / 255f - 0.5f) / 0.5f, y[2], 0f);
        expectIllegal("std", () -> ImageTensors.argbToY(argb, 4, 1, 0f, 0f));
        expectIllegal("argb", () -> ImageTensors.argbToYcbcr(argb, 2, 1));
    }

    @Test
    public void resizeBilinearUsesHalfPixelCenters() {
        float[] row = {0f, 4f};
        assertArrayEquals(new float[] {0f, 1f, 3f, 4f},
                ImageTensors.resizeBilinear(row, 2, 1, 4, 1), 0f);
        float[] column = ImageTensors.resizeBilinear(row, 1, 2, 1, 4);
        assertArrayEquals(new float[] {0f, 1f, 3f, 4f}, column, 0f);
        float[] plane = {1f, 2f, 3f, 4f, 5f, 6f};
        assertArrayEquals(plane, ImageTensors.resizeBilinear(plane, 3, 2, 3, 2), 0f);
        // Downscaling 4 -> 2 samples between pixels 0|1 and 2|3.
        assertArrayEquals(new float[] {2f, 6f},
                ImageTensors.resizeBilinear(new float[] {0f, 4f, 4f, 8f}, 4, 1, 2, 1), 0f);
        expectIllegal("plane", () -> ImageTensors.resizeBilinear(row, 3, 1, 4, 1));
    }

    /** Y of the picture itself, at the same size, must give the picture back (within rounding). */
    @Test
    public void yToArgbInvertsArgbToY() {
        int[] argb = new int[256];
        for (int c = 0; c < 256; c++) {
            argb[c] = 0xFF000000 | (c << 16) | ((255 - c) << 8) | (c ^ 0x5A);
        }
        float[] y = ImageTensors.argbToY(argb, 16, 16, 0f, 1f);
        int[] back = ImageTensors.yToArgb(y, 16, 16, 0f, 1f, argb, 16, 16);
        for (int i = 0; i < argb.length; i++) {
            for (int shift = 0; shift <= 16; shift += 8) {
                int a = (argb[i] >>> shift) & 0xFF;
                int b = (back[i] >>> shift) & 0xFF;
                assertTrue("pixel " + i + ": " + Integer.toHexString(argb[i]) + " came back as "
                        + Integer.toHexString(back[i]), Math.abs(a - b) <= 1);
            }
            assertEquals(0xFF, back[i] >>> 24);
        }
        int[] clamped = ImageTensors.yToArgb(
                new float[] {Float.NaN, 2f}, 2, 1, 0f, 1f, new int[] {0xFF808080}, 1, 1);
        assertArrayEquals(new int[] {0xFF000000, 0xFFFFFFFF}, clamped);
        expectIllegal("y", () -> ImageTensors.yToArgb(new float[3], 2, 1, 0f, 1f, argb, 16, 16));
    }

    // ---- softmax / topK / argmax ----

    @Test
    public void softmaxKnownValuesAndLargeLogits() {
        float[] p = ImageTensors.softmax(new float[] {0f, (float) Math.log(3)});
        assertEquals(0.25f, p[0], 1e-7f);
        assertEquals(0.75f, p[1], 1e-7f);
        float[] big = ImageTensors.softmax(new float[] {1000f, 1000f, -1000f});
        assertArrayEquals(new float[] {0.5f, 0.5f, 0f}, big, 0f);
        float[] nan = ImageTensors.softmax(new float[] {1f, Float.NaN});
        assertTrue(Float.isNaN(nan[0]) && Float.isNaN(nan[1]));
        expectIllegal("logits", () -> ImageTensors.softmax(new float[0]));
    }

    @Test
    public void topKIsDescendingWithTiesToLowerIndex() {
        float[] scores = {0.1f, 0.3f, Float.NaN, 0.3f, 0.2f, 0.3f};
        assertArrayEquals(new int[] {1, 3, 5, 4}, ImageTensors.topK(scores, 4));
        assertArrayEquals(new int[] {1, 3, 5, 4, 0, 2}, ImageTensors.topK(scores, 100));
        assertArrayEquals(new int[0], ImageTensors.topK(scores, 0));
        assertArrayEquals(new int[] {0}, ImageTensors.topK(new float[] {-0f, 0f}, 1));
        expectIllegal("k", () -> ImageTensors.topK(scores, -1));
    }

    @Test
    public void argmaxChannelsTiesToLowerClass() {
        // 3 classes, 1x4 pixels; planes are class-major.
        float[] chw = {
            1f, 0f, 5f, Float.NaN,
            1f, 2f, 5f, 1f,
            0f, 2f, 4f, Float.NaN
        };
        assertArrayEquals(new int[] {0, 1, 0, 1}, ImageTensors.argmaxChannels(chw, 3, 1, 4));
        expectIllegal("classes", () -> ImageTensors.argmaxChannels(chw, 0, 1, 4));
        expectIllegal("chw", () -> ImageTensors.argmaxChannels(chw, 2, 1, 4));
        expectIllegal("width", () -> ImageTensors.argmaxChannels(chw, 3, 1, 0));
    }

    static void expectIllegal(String messagePart, Runnable call) {
        try {
            call.run();
        } catch (IllegalArgumentException e) {
            assertTrue("message \"" + e.getMessage() + "\" should mention " + messagePart,
                    e.getMessage() != null && e.getMessage().contains(messagePart));
            return;
        }
        fail("expected IllegalArgumentException about " + messagePart);
    }
}
