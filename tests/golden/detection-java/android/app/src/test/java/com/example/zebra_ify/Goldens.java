package com.example.zebra_ify;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Reads the golden vectors scaffold computed in Python (src/test/resources/golden/): flat
 * little-endian int32 or float32 arrays.
 */
final class Goldens {
    private Goldens() {}

    static int[] ints(String name) throws IOException {
        ByteBuffer buffer = read(name);
        int[] out = new int[buffer.remaining() / 4];
        buffer.asIntBuffer().get(out);
        return out;
    }

    static float[] floats(String name) throws IOException {
        ByteBuffer buffer = read(name);
        float[] out = new float[buffer.remaining() / 4];
        buffer.asFloatBuffer().get(out);
        return out;
    }

    private static ByteBuffer read(String name) throws IOException {
        String path = "/golden/" + name;
        try (InputStream in = Goldens.class.getResourceAsStream(path)) {
            assertNotNull(path + " is missing from the test resources; regenerate the project"
                    + " with scaffold to restore it", in);
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            byte[] chunk = new byte[1 << 16];
            int n;
            while ((n = in.read(chunk)) > 0) {
                bytes.write(chunk, 0, n);
            }
            byte[] data = bytes.toByteArray();
            assertEquals(path + " must hold whole 4-byte values", 0, data.length % 4);
            return ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        }
    }

    /** Largest |a[i] - b[i]|; NaN when either side has a NaN the other lacks. */
    static double maxAbsDiff(float[] a, float[] b) {
        assertEquals("length", a.length, b.length);
        double max = 0.0;
        for (int i = 0; i < a.length; i++) {
            if (Float.isNaN(a[i]) || Float.isNaN(b[i])) {
                if (Float.isNaN(a[i]) != Float.isNaN(b[i])) {
                    return Double.NaN;
                }
                continue;
            }
            max = Math.max(max, Math.abs((double) a[i] - b[i]));
        }
        return max;
    }
}
