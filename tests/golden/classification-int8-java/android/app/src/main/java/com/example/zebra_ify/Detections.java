package com.example.zebra_ify;

import java.util.Arrays;
import java.util.Locale;

/**
 * Object detection post-processing: decoding a detector's raw output into boxes, the score
 * threshold and non-maximum suppression. Plain Java (no android.*, no org.pytorch.*), so the
 * host unit tests compare it with what torchvision computed on the sample.
 *
 * <p>Decoded boxes are flat float arrays of {@link #ROW} values per box: x1, y1, x2, y2 in pixels
 * of the model input, score, label (a class index stored as float). Every arithmetic step is one
 * float operation in torchvision's order ({@code box_convert}, {@code nms}), so the results
 * match Python bit for bit (a sigmoid, for logits, may differ in the last bit).
 */
public final class Detections {
    /** Values per decoded box: x1, y1, x2, y2, score, label. */
    public static final int ROW = 6;

    private Detections() {}

    /** How to read a detector's output: the "detection" object of the embedded metadata. */
    public static final class Settings {
        public static final String YOLO = "yolo";
        public static final String BOXES = "boxes";

        /** "yolo" (1 x N x (5 + C) raw rows) or "boxes" (packed boxes, scores, labels). */
        public final String layout;
        /** Box coordinates are 0..1 of the input size (else input pixels). */
        public final boolean normalized;
        /** Scores are logits: a sigmoid turns them into probabilities (YOLO layout only). */
        public final boolean logits;
        public final float scoreThreshold;
        public final double iouThreshold;
        public final int maxDetections;

        public Settings(String layout, boolean normalized, boolean logits, float scoreThreshold,
                double iouThreshold, int maxDetections) {
            if (!YOLO.equals(layout) && !BOXES.equals(layout)) {
                throw new IllegalArgumentException("detection layout must be yolo or boxes, got "
                        + layout);
            }
            if (!(scoreThreshold >= 0f && scoreThreshold <= 1f)
                    || !(iouThreshold >= 0.0 && iouThreshold <= 1.0)) {
                throw new IllegalArgumentException("thresholds must be in [0, 1], got score "
                        + scoreThreshold + ", IoU " + iouThreshold);
            }
            if (maxDetections < 0) {
                throw new IllegalArgumentException("maxDetections must be >= 0");
            }
            this.layout = layout;
            this.normalized = normalized;
            this.logits = logits;
            this.scoreThreshold = scoreThreshold;
            this.iouThreshold = iouThreshold;
            this.maxDetections = maxDetections;
        }

        /**
         * The values known when the app was generated; null when the model is not a detector.
         * Only a fallback for a model asset that carries no metadata.
         */
        public static Settings generated() {
            return null;
        }

        /**
         * Decoded boxes (see {@link #ROW}) of one output: YOLO rows of the given shape (the last
         * dimension is 5 + classes), or rows already packed from (boxes, scores, labels).
         */
        public float[] decode(float[] output, long[] shape, int width, int height) {
            if (BOXES.equals(layout)) {
                return decodeBoxes(output, normalized, width, height);
            }
            if (shape == null || shape.length == 0) {
                throw new IllegalArgumentException("the output shape is needed for YOLO rows");
            }
            return decodeYolo(output, (int) shape[shape.length - 1] - 5, normalized, logits,
                    width, height);
        }

        /** The boxes to show, best first, as decoded rows. */
        public float[] detect(float[] output, long[] shape, int width, int height) {
            float[] decoded = decode(output, shape, width, height);
            return gather(decoded, select(decoded, scoreThreshold, iouThreshold, maxDetections));
        }
    }

    /**
     * A YOLO-style output, {@code N x (4 + 1 + classes)} rows of (cx, cy, w, h, objectness, class
     * scores), to decoded boxes. The score is objectness times the best class score (the first
     * best on ties), after a sigmoid when {@code logits}; boxes are converted like
     * {@code torchvision.ops.box_convert(..., "cxcywh", "xyxy")} ({@code cx - 0.5 * w}, ...) and,
     * when {@code normalized}, multiplied by the input width and height.
     */
    public static float[] decodeYolo(float[] raw, int classes, boolean normalized, boolean logits,
            int width, int height) {
        if (raw == null) {
            throw new IllegalArgumentException("raw output must not be null");
        }
        if (classes < 1) {
            throw new IllegalArgumentException("classes must be >= 1, got " + classes);
        }
        int cols = 5 + classes;
        if (raw.length % cols != 0) {
            throw new IllegalArgumentException("raw output has " + raw.length
                    + " values, not a whole number of rows of " + cols);
        }
        requireSize(width, height);
        int n = raw.length / cols;
        float[] out = new float[n * ROW];
        for (int i = 0; i < n; i++) {
            int in = i * cols;
            int o = i * ROW;
            float cx = raw[in];
            float cy = raw[in + 1];
            float halfW = 0.5f * raw[in + 2];
            float halfH = 0.5f * raw[in + 3];
            out[o] = cx - halfW;
            out[o + 1] = cy - halfH;
            out[o + 2] = cx + halfW;
            out[o + 3] = cy + halfH;
            float objectness = logits ? sigmoid(raw[in + 4]) : raw[in + 4];
            int label = 0;
            float best = logits ? sigmoid(raw[in + 5]) : raw[in + 5];
            for (int c = 1; c < classes; c++) {
                float v = logits ? sigmoid(raw[in + 5 + c]) : raw[in + 5 + c];
                if (v > best) {
                    best = v;
                    label = c;
                }
            }
            out[o + 4] = objectness * best;
            out[o + 5] = label;
        }
        if (normalized) {
            scale(out, width, height);
        }
        return out;
    }

    /**
     * torchvision-style outputs (boxes N x 4 as x1, y1, x2, y2; scores N; labels N) packed into
     * decoded rows, the same packing the generator applies before computing the expected output.
     */
    public static float[] packBoxes(float[] boxes, float[] scores, float[] labels) {
        if (boxes == null || scores == null || labels == null) {
            throw new IllegalArgumentException("boxes, scores and labels must not be null");
        }
        int n = scores.length;
        if (boxes.length != 4 * n || labels.length != n) {
            throw new IllegalArgumentException("boxes (" + boxes.length + " values), scores ("
                    + n + ") and labels (" + labels.length + ") do not describe the same boxes");
        }
        float[] out = new float[n * ROW];
        for (int i = 0; i < n; i++) {
            System.arraycopy(boxes, 4 * i, out, i * ROW, 4);
            out[i * ROW + 4] = scores[i];
            out[i * ROW + 5] = labels[i];
        }
        return out;
    }

    /** Packed (boxes, scores, labels) rows to decoded boxes: only normalized boxes change. */
    public static float[] decodeBoxes(float[] packed, boolean normalized, int width, int height) {
        if (packed == null || packed.length % ROW != 0) {
            throw new IllegalArgumentException("packed boxes must hold rows of " + ROW + " values");
        }
        requireSize(width, height);
        float[] out = packed.clone();
        if (normalized) {
            scale(out, width, height);
        }
        return out;
    }

    /**
     * The boxes to show, best first, as indices into {@code decoded}: those scoring at least
     * {@code (float) scoreThreshold}, then class-agnostic non-maximum suppression as
     * {@code torchvision.ops.nms} computes it (areas {@code (x2 - x1) * (y2 - y1)}; a box is dropped
     * when {@code inter / (area_i + area_j - inter) > iouThreshold} with a kept, better box; equal
     * scores keep the lower index first), then at most {@code maxDetections}.
     */
    public static int[] select(float[] decoded, float scoreThreshold, double iouThreshold,
            int maxDetections) {
        if (decoded == null || decoded.length % ROW != 0) {
            throw new IllegalArgumentException("decoded boxes must hold rows of " + ROW + " values");
        }
        if (!(scoreThreshold >= 0f && scoreThreshold <= 1f)
                || !(iouThreshold >= 0.0 && iouThreshold <= 1.0)) {
            throw new IllegalArgumentException("thresholds must be in [0, 1], got score "
                    + scoreThreshold + ", IoU " + iouThreshold);
        }
        if (maxDetections < 0) {
            throw new IllegalArgumentException("maxDetections must be >= 0, got " + maxDetections);
        }
        int n = decoded.length / ROW;
        int count = 0;
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            if (decoded[i * ROW + 4] >= scoreThreshold) {
                order[count++] = i;
            }
        }
        order = Arrays.copyOf(order, count);
        Arrays.sort(order, (a, b) -> {
            float x = decoded[a * ROW + 4];
            float y = decoded[b * ROW + 4];
            return x != y ? (x > y ? -1 : 1) : Integer.compare(a, b);
        });
        float[] areas = new float[count];
        for (int k = 0; k < count; k++) {
            int o = order[k] * ROW;
            areas[k] = (decoded[o + 2] - decoded[o]) * (decoded[o + 3] - decoded[o + 1]);
        }
        boolean[] suppressed = new boolean[count];
        int[] keep = new int[Math.min(count, maxDetections)];
        int kept = 0;
        for (int k = 0; k < count && kept < keep.length; k++) {
            if (suppressed[k]) {
                continue;
            }
            keep[kept++] = order[k];
            int a = order[k] * ROW;
            for (int m = k + 1; m < count; m++) {
                if (suppressed[m]) {
                    continue;
                }
                int b = order[m] * ROW;
                float w = Math.max(0f, Math.min(decoded[a + 2], decoded[b + 2])
                        - Math.max(decoded[a], decoded[b]));
                float h = Math.max(0f, Math.min(decoded[a + 3], decoded[b + 3])
                        - Math.max(decoded[a + 1], decoded[b + 1]));
                float inter = w * h;
                float overlap = inter / (areas[k] + areas[m] - inter);
                if (overlap > iouThreshold) {
                    suppressed[m] = true;
                }
            }
        }
        return Arrays.copyOf(keep, kept);
    }

    /** Boxes scaled from model-input pixels to a picture {@code sx} times wider, {@code sy} taller. */
    public static float[] scaled(float[] detections, float sx, float sy) {
        float[] out = detections.clone();
        for (int o = 0; o + ROW <= out.length; o += ROW) {
            out[o] *= sx;
            out[o + 1] *= sy;
            out[o + 2] *= sx;
            out[o + 3] *= sy;
        }
        return out;
    }

    /** The rows of {@code decoded} at {@code keep}, in that order. */
    public static float[] gather(float[] decoded, int[] keep) {
        float[] out = new float[keep.length * ROW];
        for (int k = 0; k < keep.length; k++) {
            System.arraycopy(decoded, keep[k] * ROW, out, k * ROW, ROW);
        }
        return out;
    }

    /** One line per box: "label  87%  (x1, y1)-(x2, y2)"; "No objects found." when empty. */
    public static String describe(float[] detections, String[] labels) {
        if (detections == null || detections.length % ROW != 0) {
            throw new IllegalArgumentException("detections must hold rows of " + ROW + " values");
        }
        if (detections.length == 0) {
            return "No objects found.";
        }
        StringBuilder sb = new StringBuilder();
        for (int o = 0; o < detections.length; o += ROW) {
            if (o > 0) {
                sb.append('\n');
            }
            sb.append(labelOf(labels, detections[o + 5]))
                    .append(String.format(Locale.ROOT, "  %.0f%%  (%.0f, %.0f)-(%.0f, %.0f)",
                            detections[o + 4] * 100.0f, detections[o], detections[o + 1],
                            detections[o + 2], detections[o + 3]));
        }
        return sb.toString();
    }

    /** The label of a box's class, "class N" when the metadata has no name for it. */
    public static String labelOf(String[] labels, float label) {
        int i = (int) label;
        return labels != null && i >= 0 && i < labels.length && labels[i] != null
                ? labels[i]
                : "class " + i;
    }

    /** Logistic function in double, rounded once to float. */
    static float sigmoid(float x) {
        return (float) (1.0 / (1.0 + Math.exp(-(double) x)));
    }

    private static void scale(float[] rows, int width, int height) {
        float w = width;
        float h = height;
        for (int o = 0; o < rows.length; o += ROW) {
            rows[o] *= w;
            rows[o + 1] *= h;
            rows[o + 2] *= w;
            rows[o + 3] *= h;
        }
    }

    private static void requireSize(int width, int height) {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException(
                    "input size must be > 0, got " + width + "x" + height);
        }
    }
}
