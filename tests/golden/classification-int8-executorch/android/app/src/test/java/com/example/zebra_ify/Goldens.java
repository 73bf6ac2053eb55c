package com.example.zebra_ify;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Reads the golden vectors scaffold computed in Python (src/test/resources/golden/): flat
 * little-endian int32 or float32 arrays, and the model's labels (UTF-8, one per line) and
 * palette (int32 r, g, b per class) exactly as the metadata embedded in the model holds them.
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

    /** Labels as the embedded metadata lists them; a label never contains a line break. */
    static String[] labels() throws IOException {
        ByteBuffer buffer = bytes("labels.txt");
        String text = new String(buffer.array(), StandardCharsets.UTF_8);
        return text.isEmpty() ? new String[0] : text.split("\n", -1);
    }

    static int[][] palette() throws IOException {
        int[] flat = ints("palette.bin");
        int[][] out = new int[flat.length / 3][];
        for (int i = 0; i < out.length; i++) {
            out[i] = new int[] {flat[3 * i], flat[3 * i + 1], flat[3 * i + 2]};
        }
        return out;
    }

    private static ByteBuffer read(String name) throws IOException {
        ByteBuffer buffer = bytes(name);
        assertEquals("/golden/" + name + " must hold whole 4-byte values", 0, buffer.remaining() % 4);
        return buffer;
    }

    private static ByteBuffer bytes(String name) throws IOException {
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
            return ByteBuffer.wrap(bytes.toByteArray()).order(ByteOrder.LITTLE_ENDIAN);
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
