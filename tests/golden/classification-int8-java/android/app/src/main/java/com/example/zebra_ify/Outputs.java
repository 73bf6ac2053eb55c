package com.example.zebra_ify;

import java.util.Arrays;
import java.util.Locale;

/**
 * Turns model outputs into what the screen shows. Plain Java so the host unit tests cover it;
 * the Activity only moves the results into views.
 */
public final class Outputs {
    /** How many values {@link #summarize} prints. */
    static final int FIRST_VALUES = 8;

    private Outputs() {}

    /** Shape, min, max, mean and the first values of a tensor, for models with no known task. */
    public static String summarize(float[] data, long[] shape) {
        ImageTensors.requireShape(data, shape);
        StringBuilder sb = new StringBuilder();
        sb.append("shape ").append(Arrays.toString(shape))
                .append(" (").append(data.length).append(" values)");
        float min = Float.POSITIVE_INFINITY;
        float max = Float.NEGATIVE_INFINITY;
        double sum = 0.0;
        int numbers = 0;
        int nans = 0;
        for (float x : data) {
            if (Float.isNaN(x)) {
                nans++;
                continue;
            }
            min = Math.min(min, x);
            max = Math.max(max, x);
            sum += x;
            numbers++;
        }
        if (numbers > 0) {
            sb.append(String.format(Locale.ROOT, "\nmin %.5g  max %.5g  mean %.5g",
                    min, max, sum / numbers));
        }
        if (nans > 0) {
            sb.append("\nNaN: ").append(nans);
        }
        if (data.length > 0) {
            sb.append("\nfirst:");
            int n = Math.min(FIRST_VALUES, data.length);
            for (int i = 0; i < n; i++) {
                sb.append(i == 0 ? " " : ", ").append(String.format(Locale.ROOT, "%.5g", data[i]));
            }
            if (data.length > n) {
                sb.append(", ...");
            }
        }
        return sb.toString();
    }

    /**
     * Probabilities for a classifier output: softmax of logits, unless the values already look
     * like probabilities (all in [0, 1], summing to 1 within 1e-3), which happens when the model
     * ends in its own softmax; a second softmax would flatten them toward uniform.
     */
    public static float[] probabilities(float[] scores) {
        if (scores == null || scores.length == 0) {
            throw new IllegalArgumentException("scores must not be empty");
        }
        double sum = 0.0;
        for (float x : scores) {
            if (!(x >= 0.0f && x <= 1.0f)) {
                return ImageTensors.softmax(scores);
            }
            sum += x;
        }
        return Math.abs(sum - 1.0) <= 1e-3 ? scores.clone() : ImageTensors.softmax(scores);
    }

    /**
     * One line per index: "rank. label  percent%". A missing label (or null labels) prints as
     * "class N" so a model with more classes than names still shows something useful.
     */
    public static String formatTopK(float[] probs, int[] idx, String[] labels) {
        if (probs == null || idx == null) {
            throw new IllegalArgumentException("probs and idx must not be null");
        }
        StringBuilder sb = new StringBuilder();
        for (int r = 0; r < idx.length; r++) {
            int i = idx[r];
            if (i < 0 || i >= probs.length) {
                throw new IllegalArgumentException(
                        "index " + i + " outside 0.." + (probs.length - 1));
            }
            if (r > 0) {
                sb.append('\n');
            }
            sb.append(r + 1).append(". ").append(labelOf(labels, i))
                    .append(String.format(Locale.ROOT, "  %.2f%%", probs[i] * 100.0f));
        }
        return sb.toString();
    }

    /**
     * Blends each pixel's class color over the input:
     * {@code out = in + (color - in) * alpha} per channel, rounded half up, opaque.
     *
     * <p>Every class, class 0 included, is drawn with its palette color as given: whether class 0
     * is "background" is the model's convention, and the palette (from the metadata) is where to
     * express it. Pixels whose class has no palette entry keep the input color.
     */
    public static int[] overlayMask(int[] inputArgb, int[] classMap, int[][] palette, float alpha) {
        if (inputArgb == null || classMap == null || palette == null) {
            throw new IllegalArgumentException("inputArgb, classMap and palette must not be null");
        }
        if (inputArgb.length != classMap.length) {
            throw new IllegalArgumentException(
                    "inputArgb has " + inputArgb.length + " pixels but classMap has "
                            + classMap.length);
        }
        if (!(alpha >= 0.0f && alpha <= 1.0f)) {
            throw new IllegalArgumentException("alpha must be in [0, 1], got " + alpha);
        }
        for (int i = 0; i < palette.length; i++) {
            if (palette[i] == null || palette[i].length != 3) {
                throw new IllegalArgumentException("palette entry " + i + " must be {r, g, b}");
            }
        }
        int[] out = new int[inputArgb.length];
        for (int p = 0; p < inputArgb.length; p++) {
            int in = inputArgb[p];
            int cls = classMap[p];
            if (cls < 0 || cls >= palette.length) {
                out[p] = in | 0xFF000000;
                continue;
            }
            int[] color = palette[cls];
            int px = 0xFF000000;
            for (int ch = 0; ch < 3; ch++) {
                int shift = 16 - 8 * ch;
                int a = (in >>> shift) & 0xFF;
                int b = Math.max(0, Math.min(255, color[ch]));
                // a + (b - a) * alpha stays within [0, 255], so the cast truncates like floor.
                int v = (int) (a + (b - a) * alpha + 0.5f);
                px |= v << shift;
            }
            out[p] = px;
        }
        return out;
    }

    /**
     * The classes covering the most pixels, one "label  percent%" line each, largest first (ties
     * to the lower class), at most {@code maxLines} lines.
     */
    public static String classShares(int[] classMap, String[] labels, int maxLines) {
        if (classMap == null || classMap.length == 0) {
            throw new IllegalArgumentException("classMap must not be empty");
        }
        int classes = 0;
        for (int c : classMap) {
            if (c < 0) {
                throw new IllegalArgumentException("negative class " + c);
            }
            classes = Math.max(classes, c + 1);
        }
        float[] counts = new float[classes];
        for (int c : classMap) {
            counts[c]++;
        }
        int[] order = ImageTensors.topK(counts, maxLines);
        StringBuilder sb = new StringBuilder();
        for (int r = 0; r < order.length; r++) {
            int c = order[r];
            if (counts[c] == 0.0f) {
                break;
            }
            if (r > 0) {
                sb.append('\n');
            }
            sb.append(labelOf(labels, c)).append(String.format(Locale.ROOT, "  %.1f%%",
                    100.0 * counts[c] / classMap.length));
        }
        return sb.toString();
    }

    private static String labelOf(String[] labels, int i) {
        return labels != null && i < labels.length && labels[i] != null
                ? labels[i]
                : "class " + i;
    }
}
