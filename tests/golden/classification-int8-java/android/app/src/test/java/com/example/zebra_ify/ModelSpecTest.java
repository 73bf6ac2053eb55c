package com.example.zebra_ify;

import static com.example.zebra_ify.ImageTensorsTest.expectIllegal;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.Test;

public class ModelSpecTest {
    private static final float[] MEAN = {0.5f, 0.5f, 0.5f};
    private static final float[] STD = {0.25f, 0.25f, 0.25f};

    /**
     * The fallback spec must describe the same model the goldens were computed for. Labels are
     * compared with their UTF-8 bytes, so a label the string escaping mangled shows up here.
     */
    @Test
    public void defaultsMatchTheGeneratedModel() {
        ModelSpec spec = ModelSpec.defaults();
        assertEquals("classification", spec.task);
        assertEquals(8, spec.width);
        assertEquals(8, spec.height);
        assertArrayEquals(new float[] { 0.485f, 0.456f, 0.406f }, spec.mean(), 0f);
        assertArrayEquals(new float[] { 0.229f, 0.224f, 0.225f }, spec.std(), 0f);
        // Labels and palette come only from the embedded metadata (see ModelSpec.defaults).
        assertEquals(0, spec.labels().length);
        assertEquals(0, spec.palette().length);
        assertEquals(3, spec.inputChannels);
    }

    /**
     * The labels the app will read from the metadata, as the golden file carries them: compared
     * with their UTF-8 bytes, so a label mangled on its way shows up here.
     */
    @Test
    public void goldenLabelsAreTheModels() throws Exception {
        String[] labels = Goldens.labels();
        assertEquals(3, labels.length);
        assertEquals(utf8(122, 101, 98, 114, 97), labels[0]);
        assertEquals(utf8(104, 111, 114, 115, 101), labels[1]);
        assertEquals(utf8(111, 107, 97, 112, 105), labels[2]);
    }

    @Test
    public void outputRangeBecomesMeanAndStd() {
        ModelSpec tanh = new ModelSpec("image-to-image", 4, 2, MEAN, STD,
                new double[] {-1.0, 1.0}, new String[0], new int[0][]);
        assertArrayEquals(new float[] {0.5f, 0.5f, 0.5f}, tanh.outputMean(), 0f);
        assertArrayEquals(new float[] {0.5f, 0.5f, 0.5f}, tanh.outputStd(), 0f);
        // Taken in double and rounded once, as Python does.
        ModelSpec odd = new ModelSpec("image-to-image", 4, 2, MEAN, STD,
                new double[] {0.1, 0.7}, new String[0], new int[0][]);
        assertEquals((float) (1.0 / (0.7 - 0.1)), odd.outputStd()[0], 0f);
        assertEquals((float) (-0.1 / (0.7 - 0.1)), odd.outputMean()[0], 0f);
        ModelSpec none = new ModelSpec("tensor", 4, 2, MEAN, STD, null, new String[0], new int[0][]);
        assertFalse(none.hasOutputRange());
        assertArrayEquals(new float[] {0f, 0f, 0f}, none.outputMean(), 0f);
        assertArrayEquals(new float[] {1f, 1f, 1f}, none.outputStd(), 0f);
    }

    @Test
    public void labelsFallBackToClassNumbers() {
        ModelSpec spec = new ModelSpec("classification", 4, 2, MEAN, STD, null,
                new String[] {"cat"}, new int[0][]);
        assertEquals("cat", spec.label(0));
        assertEquals("class 1", spec.label(1));
        assertEquals("class -1", spec.label(-1));
    }

    @Test
    public void keepsItsOwnCopies() {
        float[] mean = MEAN.clone();
        String[] labels = {"a"};
        int[][] palette = { {1, 2, 3} };
        ModelSpec spec = new ModelSpec("segmentation", 4, 2, mean, STD, null, labels, palette);
        mean[0] = 9f;
        labels[0] = "b";
        palette[0][0] = 9;
        spec.mean()[1] = 9f;
        spec.palette()[0][1] = 9;
        assertArrayEquals(MEAN, spec.mean(), 0f);
        assertEquals("a", spec.label(0));
        assertArrayEquals(new int[] {1, 2, 3}, spec.palette()[0]);
    }

    @Test
    public void rejectsInvalidValues() {
        String[] none = new String[0];
        int[][] noColors = new int[0][];
        expectIllegal("task", () -> new ModelSpec("", 1, 1, MEAN, STD, null, none, noColors));
        expectIllegal("input size",
                () -> new ModelSpec("tensor", 0, 1, MEAN, STD, null, none, noColors));
        expectIllegal("mean", () -> new ModelSpec(
                "tensor", 1, 1, new float[2], STD, null, none, noColors));
        expectIllegal("std", () -> new ModelSpec(
                "tensor", 1, 1, MEAN, new float[3], null, none, noColors));
        expectIllegal("range", () -> new ModelSpec(
                "tensor", 1, 1, MEAN, STD, new double[] {1.0, 1.0}, none, noColors));
        expectIllegal("range", () -> new ModelSpec(
                "tensor", 1, 1, MEAN, STD, new double[] {0.0, Double.NaN}, none, noColors));
        expectIllegal("label 0", () -> new ModelSpec(
                "tensor", 1, 1, MEAN, STD, null, new String[] {null}, noColors));
        expectIllegal("0..255", () -> new ModelSpec(
                "tensor", 1, 1, MEAN, STD, null, none, new int[][] { {0, 256, 0} }));
        expectIllegal("{r, g, b}", () -> new ModelSpec(
                "tensor", 1, 1, MEAN, STD, null, none, new int[][] { {0, 0} }));
        expectIllegal("input channels", () -> new ModelSpec(
                "tensor", 1, 1, MEAN, STD, null, none, noColors, 2));
    }

    private static String utf8(int... bytes) {
        byte[] b = new byte[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            b[i] = (byte) bytes[i];
        }
        return new String(b, StandardCharsets.UTF_8);
    }
}
