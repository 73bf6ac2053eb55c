package com.example.zebra_ify;

import static com.example.zebra_ify.ImageTensorsTest.expectIllegal;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.Arrays;
import org.junit.Test;

/** What the screen shows, from hand-made outputs and from this model's golden output. */
public class OutputsTest {
    private static final long[] OUTPUT_SHAPE = { 1, 3 };

    // ---- against this model's golden output ----

    @Test
    public void summarizesTheGoldenOutput() throws Exception {
        float[] output = Goldens.floats("output_chw.bin");
        String summary = Outputs.summarize(output, OUTPUT_SHAPE);
        assertTrue(summary, summary.startsWith("shape " + Arrays.toString(OUTPUT_SHAPE)));
    }

    @Test
    public void formatsTheGoldenTopK() throws Exception {
        float[] probs = Goldens.floats("softmax.bin");
        int[] top = Goldens.ints("top5.bin");
        ModelSpec spec = new ModelSpec("classification", 1, 1, new float[] {0f, 0f, 0f},
                new float[] {1f, 1f, 1f}, null, Goldens.labels(), new int[0][]);
        String text = Outputs.formatTopK(probs, top, spec.labels());
        assertTrue(text, text.startsWith("1. " + spec.label(top[0]) + "  "));
        for (int r = 1; r < top.length; r++) {
            String line = "\n" + (r + 1) + ". " + spec.label(top[r]) + "  ";
            assertTrue(text + "\nshould contain" + line, text.contains(line));
        }
    }

    // ---- summarize ----

    @Test
    public void summarizeShowsStatisticsAndFirstValues() {
        String s = Outputs.summarize(new float[] {1f, -2f, 3.5f, Float.NaN}, new long[] {2, 2});
        assertEquals("shape [2, 2] (4 values)\n"
                + "min -2.0000  max 3.5000  mean 0.83333\n"
                + "NaN: 1\n"
                + "first: 1.0000, -2.0000, 3.5000, NaN", s);
        float[] many = new float[10];
        String t = Outputs.summarize(many, new long[] {1, 10});
        assertTrue(t, t.endsWith("0.0000, 0.0000, ..."));
        assertEquals("shape [0] (0 values)", Outputs.summarize(new float[0], new long[] {0}));
        expectIllegal("shape", () -> Outputs.summarize(new float[3], new long[] {1, 2}));
        expectIllegal("negative", () -> Outputs.summarize(new float[0], new long[] {-1}));
    }

    // ---- classification ----

    @Test
    public void formatTopKPrintsRankLabelAndPercent() {
        float[] probs = {0.1f, 0.7f, 0.2f};
        String[] labels = {"cat", "O'Brien \"quoted\" <tag> & back\\slash"};
        assertEquals("1. O'Brien \"quoted\" <tag> & back\\slash  70.00%\n"
                        + "2. class 2  20.00%\n"
                        + "3. cat  10.00%",
                Outputs.formatTopK(probs, new int[] {1, 2, 0}, labels));
        assertEquals("1. class 1  70.00%", Outputs.formatTopK(probs, new int[] {1}, null));
        assertEquals("", Outputs.formatTopK(probs, new int[0], labels));
        expectIllegal("index", () -> Outputs.formatTopK(probs, new int[] {3}, labels));
    }

    @Test
    public void probabilitiesAppliesSoftmaxOnlyToLogits() {
        float[] probs = {0.25f, 0.75f};
        assertArrayEquals(probs, Outputs.probabilities(probs), 0f);
        float[] logits = {0f, (float) Math.log(3)};
        assertArrayEquals(probs, Outputs.probabilities(logits), 1e-7f);
        float[] small = {0.1f, 0.2f};
        assertArrayEquals(ImageTensors.softmax(small), Outputs.probabilities(small), 0f);
    }

    // ---- segmentation ----

    @Test
    public void overlayMaskBlendsPaletteOverInput() {
        int[][] palette = { {0, 0, 0}, {255, 0, 0} };
        int[] input = {0x00000000, 0x80FFFFFF, 0xFF102030, 0xFF102030};
        int[] classes = {1, 0, 7, -1};
        int[] out = Outputs.overlayMask(input, classes, palette, 0.5f);
        // 0 + (255 - 0) * 0.5 = 127.5 rounds up; class 0 is drawn like any other class.
        assertEquals(0xFF800000, out[0]);
        assertEquals(0xFF808080, out[1]);
        // Classes without a palette entry keep the input, made opaque.
        assertEquals(0xFF102030, out[2]);
        assertEquals(0xFF102030, out[3]);
        assertArrayEquals(new int[] {0xFF000000, 0xFFFFFFFF},
                Outputs.overlayMask(new int[] {0, 0x00FFFFFF}, new int[] {0, 0}, palette, 0f));
        assertArrayEquals(new int[] {0xFFFF0000},
                Outputs.overlayMask(new int[] {0xFF00FF00}, new int[] {1}, palette, 1f));
    }

    @Test
    public void overlayMaskRejectsBadArguments() {
        int[][] palette = { {0, 0, 0} };
        expectIllegal("pixels", () -> Outputs.overlayMask(new int[2], new int[3], palette, 0.5f));
        expectIllegal("alpha", () -> Outputs.overlayMask(new int[1], new int[1], palette, 1.5f));
        expectIllegal("alpha",
                () -> Outputs.overlayMask(new int[1], new int[1], palette, Float.NaN));
        expectIllegal("palette entry 0",
                () -> Outputs.overlayMask(new int[1], new int[1], new int[][] { {1, 2} }, 0.5f));
    }

    @Test
    public void classSharesListsLargestClassesFirst() {
        int[] classMap = {0, 0, 1, 2, 2, 2};
        assertEquals("class 2  50.0%\nbg  33.3%",
                Outputs.classShares(classMap, new String[] {"bg", "person"}, 2));
        assertEquals("class 2  50.0%\nbg  33.3%\nperson  16.7%",
                Outputs.classShares(classMap, new String[] {"bg", "person"}, 9));
        expectIllegal("negative", () -> Outputs.classShares(new int[] {-1}, null, 2));
    }
}
