package com.example.zebra_ify;

import java.util.Arrays;
import java.util.Locale;

/**
 * What the app needs to know about the model: task, input size and normalization, output range,
 * labels and palette.
 *
 * <p>At run time these values come from the "scaffold.json" file embedded in the model
 * (ModelRunner parses it; org.json is Android-only, so no parsing happens here and this class
 * stays testable on the host). That way a re-exported model with new labels or a new input size
 * keeps working without regenerating the app.
 */
public final class ModelSpec {
    public static final String IMAGE_TO_IMAGE = "image-to-image";
    public static final String CLASSIFICATION = "classification";
    public static final String SEGMENTATION = "segmentation";
    public static final String TENSOR = "tensor";

    public final String task;
    public final int width;
    public final int height;
    private final float[] mean;
    private final float[] std;
    private final double[] outputRange;
    private final String[] labels;
    private final int[][] palette;
    /** 3 (RGB planes) or 1 (the Y plane of YCbCr: a luma super-resolution model). */
    public final int inputChannels;

    /**
     * @param outputRange {lo, hi} the output values a picture's 0 and 1 map to, or null when the
     *     model's output is not a picture
     * @param labels class names, may be empty
     * @param palette one {r, g, b} (0..255) per class, may be empty
     */
    public ModelSpec(
            String task,
            int width,
            int height,
            float[] mean,
            float[] std,
            double[] outputRange,
            String[] labels,
            int[][] palette) {
        this(task, width, height, mean, std, outputRange, labels, palette, 3);
    }

    /** @param inputChannels 3 for RGB input, 1 for a model that sees only the Y plane */
    public ModelSpec(
            String task,
            int width,
            int height,
            float[] mean,
            float[] std,
            double[] outputRange,
            String[] labels,
            int[][] palette,
            int inputChannels) {
        if (inputChannels != 1 && inputChannels != 3) {
            throw new IllegalArgumentException(
                    "input channels must be 1 (Y) or 3 (RGB), got " + inputChannels);
        }
        if (task == null || task.isEmpty()) {
            throw new IllegalArgumentException("task must not be empty");
        }
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException(
                    "input size must be > 0, got " + width + "x" + height);
        }
        if (mean == null || mean.length != 3 || std == null || std.length != 3) {
            throw new IllegalArgumentException("mean and std must have 3 values (R, G, B)");
        }
        for (int ch = 0; ch < 3; ch++) {
            if (!Float.isFinite(mean[ch]) || !Float.isFinite(std[ch]) || std[ch] == 0.0f) {
                throw new IllegalArgumentException(
                        "mean/std must be finite and std non-zero: mean="
                                + Arrays.toString(mean) + " std=" + Arrays.toString(std));
            }
        }
        if (outputRange != null) {
            if (outputRange.length != 2
                    || !Double.isFinite(outputRange[0])
                    || !Double.isFinite(outputRange[1])
                    || !(outputRange[1] > outputRange[0])) {
                throw new IllegalArgumentException(
                        "output range must be {lo, hi} with lo < hi, got "
                                + Arrays.toString(outputRange));
            }
        }
        if (labels == null) {
            throw new IllegalArgumentException("labels must not be null (use an empty array)");
        }
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] == null) {
                throw new IllegalArgumentException("label " + i + " is null");
            }
        }
        if (palette == null) {
            throw new IllegalArgumentException("palette must not be null (use an empty array)");
        }
        int[][] paletteCopy = new int[palette.length][];
        for (int i = 0; i < palette.length; i++) {
            int[] c = palette[i];
            if (c == null || c.length != 3) {
                throw new IllegalArgumentException("palette entry " + i + " must be {r, g, b}");
            }
            for (int v : c) {
                if (v < 0 || v > 255) {
                    throw new IllegalArgumentException(
                            "palette entry " + i + " out of 0..255: " + Arrays.toString(c));
                }
            }
            paletteCopy[i] = c.clone();
        }
        this.task = task;
        this.width = width;
        this.height = height;
        this.mean = mean.clone();
        this.std = std.clone();
        this.outputRange = outputRange == null ? null : outputRange.clone();
        this.labels = labels.clone();
        this.palette = paletteCopy;
        this.inputChannels = inputChannels;
    }

    /**
     * The values known when the app was generated. Only a fallback for a model asset that carries
     * no metadata (ModelRunner logs a warning when it uses it). Labels and palette live only in
     * that metadata: thousands of classes written here would exceed Java's 64 KB method limit.
     */
    public static ModelSpec defaults() {
        return new ModelSpec(
                "classification",
                8,
                8,
                new float[] { 0.485f, 0.456f, 0.406f },
                new float[] { 0.229f, 0.224f, 0.225f },
                null,
                new String[0],
                new int[0][]);
    }

    public float[] mean() {
        return mean.clone();
    }

    public float[] std() {
        return std.clone();
    }

    public boolean hasOutputRange() {
        return outputRange != null;
    }

    /** Low end of the output range, 0 when the metadata gives none. */
    public double outputLo() {
        return outputRange == null ? 0.0 : outputRange[0];
    }

    /** High end of the output range, 1 when the metadata gives none. */
    public double outputHi() {
        return outputRange == null ? 1.0 : outputRange[1];
    }

    /**
     * Per-channel mean for {@link ImageTensors#chwToArgb}: -lo / (hi - lo). Computed in double and
     * rounded once, as the generator does in Python, so host goldens and the app agree to the bit.
     */
    public float[] outputMean() {
        // 0.0 - lo rather than -lo: a range starting at 0 must give 0, not -0.
        float m = (float) ((0.0 - outputLo()) / (outputHi() - outputLo()));
        return new float[] {m, m, m};
    }

    /** Per-channel std for {@link ImageTensors#chwToArgb}: 1 / (hi - lo). */
    public float[] outputStd() {
        float s = (float) (1.0 / (outputHi() - outputLo()));
        return new float[] {s, s, s};
    }

    public String[] labels() {
        return labels.clone();
    }

    public int[][] palette() {
        int[][] copy = new int[palette.length][];
        for (int i = 0; i < palette.length; i++) {
            copy[i] = palette[i].clone();
        }
        return copy;
    }

    /** The label of class {@code index}, or "class N" when the metadata has no name for it. */
    public String label(int index) {
        return index >= 0 && index < labels.length ? labels[index] : "class " + index;
    }

    @Override
    public String toString() {
        return String.format(
                Locale.ROOT,
                "%s %dx%d mean=%s std=%s range=%s labels=%d palette=%d",
                task,
                width,
                height,
                Arrays.toString(mean),
                Arrays.toString(std),
                outputRange == null ? "none" : Arrays.toString(outputRange),
                labels.length,
                palette.length);
    }
}
