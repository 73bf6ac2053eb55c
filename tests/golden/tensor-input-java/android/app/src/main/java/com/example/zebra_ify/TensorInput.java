package com.example.zebra_ify;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Locale;

/**
 * A non-image model input: raw little-endian float32 or int64 values (the format of the bundled
 * "sample_input.bin") with the shape and dtype the model's metadata records. Plain Java (no
 * android.*, no runtime classes) so the host unit tests check the byte order and the length checks.
 */
public final class TensorInput {
    public static final String FLOAT32 = "float32";
    public static final String INT64 = "int64";
    /** What the model was generated with; the embedded metadata wins when it has its own. */
    public static final long[] DEFAULT_SHAPE = { 1, 32 };
    public static final String DEFAULT_DTYPE = "int64";

    private final long[] shape;
    private final String dtype;
    private final float[] floats;
    private final long[] longs;

    private TensorInput(long[] shape, String dtype, float[] floats, long[] longs) {
        this.shape = shape;
        this.dtype = dtype;
        this.floats = floats;
        this.longs = longs;
    }

    /** The number of values a shape holds; IllegalArgumentException for a dimension below 1. */
    public static int numel(long[] shape) {
        if (shape == null || shape.length == 0) {
            throw new IllegalArgumentException("the input shape must have at least one dimension");
        }
        long count = 1;
        for (long d : shape) {
            if (d < 1) {
                throw new IllegalArgumentException(
                        "input shape " + Arrays.toString(shape) + " has a dimension below 1");
            }
            count *= d;
            if (count > Integer.MAX_VALUE) {
                throw new IllegalArgumentException(
                        "input shape " + Arrays.toString(shape) + " is too large for a Java array");
            }
        }
        return (int) count;
    }

    /** Bytes per value of a dtype this app feeds. */
    public static int itemBytes(String dtype) {
        if (FLOAT32.equals(dtype)) {
            return 4;
        }
        if (INT64.equals(dtype)) {
            return 8;
        }
        throw new IllegalArgumentException(
                "input dtype '" + dtype + "' is not supported; this app feeds float32 or int64");
    }

    /**
     * Reads raw little-endian values; the byte count must be exactly what the shape and dtype
     * need, so a file from another model fails here instead of feeding garbage.
     */
    public static TensorInput fromBytes(byte[] data, long[] shape, String dtype) {
        if (data == null) {
            throw new IllegalArgumentException("input bytes must not be null");
        }
        int count = numel(shape);
        int item = itemBytes(dtype);
        if ((long) data.length != (long) count * item) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "the input has %d bytes, but shape %s of %s needs %d (%d values x %d bytes)",
                    data.length, Arrays.toString(shape), dtype, (long) count * item, count, item));
        }
        ByteBuffer buffer = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        if (item == 8) {
            long[] values = new long[count];
            buffer.asLongBuffer().get(values);
            return new TensorInput(shape.clone(), dtype, null, values);
        }
        float[] values = new float[count];
        buffer.asFloatBuffer().get(values);
        return new TensorInput(shape.clone(), dtype, values, null);
    }

    public long[] shape() {
        return shape.clone();
    }

    public String dtype() {
        return dtype;
    }

    public boolean isInt64() {
        return longs != null;
    }

    /** The float32 values; IllegalStateException for an int64 input. */
    public float[] floats() {
        if (floats == null) {
            throw new IllegalStateException("the input is " + dtype + ", not float32");
        }
        return floats;
    }

    /** The int64 values; IllegalStateException for a float32 input. */
    public long[] longs() {
        if (longs == null) {
            throw new IllegalStateException("the input is " + dtype + ", not int64");
        }
        return longs;
    }

    /** "input float32 [1, 16, 40] (640 values)", the first line of the screen's summary. */
    public String describe() {
        int count = longs != null ? longs.length : floats.length;
        return "input " + dtype + " " + Arrays.toString(shape) + " (" + count + " values)";
    }
}
