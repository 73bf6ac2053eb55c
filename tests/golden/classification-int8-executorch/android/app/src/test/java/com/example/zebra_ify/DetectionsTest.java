package com.example.zebra_ify;

import static com.example.zebra_ify.ImageTensorsTest.expectIllegal;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

/**
 * Detection post-processing against torchvision's box_convert and nms on the sample (golden
 * vectors, for detection models only), plus hand-made cases.
 */
public class DetectionsTest {

    @Test
    public void yoloRowsDecodeToCornersScoresAndLabels() {
        // cx, cy, w, h, objectness, 3 class scores
        float[] raw = {
            10f, 20f, 4f, 8f, 0.5f, 0.1f, 0.8f, 0.8f,
            0.5f, 0.5f, 0.5f, 0.25f, 1f, 0.9f, 0.2f, 0.3f
        };
        float[] pixels = Detections.decodeYolo(raw, 3, false, false, 64, 32);
        assertArrayEquals(new float[] {8f, 16f, 12f, 24f, 0.4f, 1f}, slice(pixels, 0), 0f);
        float[] normalized = Detections.decodeYolo(raw, 3, true, false, 64, 32);
        assertArrayEquals(new float[] {16f, 12f, 48f, 20f, 0.9f, 0f}, slice(normalized, 1), 0f);
        float[] logits = Detections.decodeYolo(new float[] {0f, 0f, 2f, 2f, 0f, 0f}, 1, false, true, 8, 8);
        assertArrayEquals(new float[] {-1f, -1f, 1f, 1f, 0.25f, 0f}, logits, 0f);
        expectIllegal("rows", () -> Detections.decodeYolo(new float[7], 3, false, false, 8, 8));
        expectIllegal("classes", () -> Detections.decodeYolo(new float[5], 0, false, false, 8, 8));
        expectIllegal("input size", () -> Detections.decodeYolo(new float[6], 1, false, false, 0, 8));
    }

    @Test
    public void nmsDropsOverlapsAboveTheThresholdOnly() {
        float[] boxes = {
            0f, 0f, 10f, 10f, 0.9f, 0f,    // kept, best
            1f, 0f, 11f, 10f, 0.8f, 1f,    // IoU 90/110 = 0.82 with box 0: dropped (any class)
            20f, 20f, 30f, 30f, 0.7f, 0f,  // no overlap: kept
            5f, 0f, 15f, 10f, 0.6f, 0f,    // IoU 50/150 = 0.33 with box 0: kept at 0.45
            0f, 0f, 10f, 10f, 0.1f, 0f     // below the score threshold
        };
        assertArrayEquals(new int[] {0, 2, 3}, Detections.select(boxes, 0.25f, 0.45, 100));
        assertArrayEquals(new int[] {0, 2}, Detections.select(boxes, 0.25f, 0.3, 100));
        assertArrayEquals(new int[] {0}, Detections.select(boxes, 0.25f, 0.45, 1));
        assertArrayEquals(new int[] {0, 1, 2, 3, 4}, Detections.select(boxes, 0f, 1.0, 100));
        assertArrayEquals(new int[0], Detections.select(boxes, 0.95f, 0.45, 100));
        // Equal scores: the lower index first, as a stable sort.
        float[] tie = {0f, 0f, 1f, 1f, 0.5f, 0f, 0f, 0f, 1f, 1f, 0.5f, 0f};
        assertArrayEquals(new int[] {0}, Detections.select(tie, 0.5f, 0.45, 100));
        expectIllegal("thresholds", () -> Detections.select(boxes, 1.5f, 0.45, 100));
        expectIllegal("thresholds", () -> Detections.select(boxes, 0.25f, Double.NaN, 100));
        expectIllegal("rows", () -> Detections.select(new float[5], 0.25f, 0.45, 100));
    }

    @Test
    public void torchvisionStyleOutputsPackAndDescribe() {
        float[] packed = Detections.packBoxes(
                new float[] {1f, 2f, 3f, 4f, 0.1f, 0.2f, 0.3f, 0.4f},
                new float[] {0.9f, 0.5f}, new float[] {2f, 7f});
        assertArrayEquals(new float[] {1f, 2f, 3f, 4f, 0.9f, 2f, 0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 7f},
                packed, 0f);
        float[] scaled = Detections.decodeBoxes(packed, true, 10, 100);
        assertArrayEquals(new float[] {1f, 20f, 3f, 40f, 0.5f, 7f}, slice(scaled, 1), 1e-5f);
        expectIllegal("same boxes", () -> Detections.packBoxes(new float[4], new float[2], new float[2]));
        String text = Detections.describe(Detections.gather(packed, new int[] {0, 1}),
                new String[] {"a", "b", "circle"});
        assertEquals("circle  90%  (1, 2)-(3, 4)\nclass 7  50%  (0, 0)-(0, 0)", text);
        assertEquals("No objects found.", Detections.describe(new float[0], null));
    }

    @Test
    public void settingsAreValidated() {
        assertEquals(null, Detections.Settings.generated());
        expectIllegal("layout", () -> new Detections.Settings("ssd", false, false, 0.25f, 0.45, 100));
        expectIllegal("thresholds",
                () -> new Detections.Settings("yolo", false, false, -0.1f, 0.45, 100));
        Detections.Settings boxes = new Detections.Settings("boxes", false, false, 0.5f, 0.5, 10);
        float[] packed = {0f, 0f, 2f, 2f, 0.9f, 1f, 0f, 0f, 2f, 2f, 0.4f, 0f};
        assertArrayEquals(slice(packed, 0), boxes.detect(packed, new long[] {2, 6}, 8, 8), 0f);
        assertArrayEquals(new float[] {0f, 0f, 4f, 1f, 0.9f, 1f},
                Detections.scaled(slice(packed, 0), 2f, 0.5f), 0f);
    }

    private static float[] slice(float[] rows, int row) {
        float[] out = new float[Detections.ROW];
        System.arraycopy(rows, row * Detections.ROW, out, 0, Detections.ROW);
        return out;
    }
}
