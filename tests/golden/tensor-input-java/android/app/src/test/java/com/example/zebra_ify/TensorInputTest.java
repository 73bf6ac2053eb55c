package com.example.zebra_ify;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import org.junit.Test;

/** The reader of sample_input.bin against what Python wrote, and its refusals. */
public class TensorInputTest {
    @Test
    public void sampleReadsAsPythonWroteIt() throws Exception {
        TensorInput input = TensorInput.fromBytes(
                raw("sample_input.bin"), TensorInput.DEFAULT_SHAPE, TensorInput.DEFAULT_DTYPE);
        float[] expected = Goldens.floats("input_values.bin");
        assertEquals(TensorInput.numel(TensorInput.DEFAULT_SHAPE), expected.length);
        assertTrue(input.isInt64());
        long[] values = input.longs();
        for (int i = 0; i < expected.length; i++) {
            assertEquals("value " + i, (long) expected[i], values[i]);
        }
        assertArrayEquals(TensorInput.DEFAULT_SHAPE, input.shape());
    }

    @Test
    public void littleEndianInt64AndFloat32() {
        byte[] longBytes = {1, 2, 0, 0, 0, 0, 0, (byte) 0x80, (byte) 0xff, (byte) 0xff, (byte) 0xff,
            (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff};
        long[] longs = TensorInput.fromBytes(longBytes, new long[] {1, 2}, "int64").longs();
        assertArrayEquals(new long[] {0x8000000000000201L, -1L}, longs);
        byte[] floatBytes = {0, 0, (byte) 0x80, 0x3f, 0, 0, 0, (byte) 0xc0};
        float[] floats = TensorInput.fromBytes(floatBytes, new long[] {2}, "float32").floats();
        assertArrayEquals(new float[] {1.0f, -2.0f}, floats, 0f);
    }

    @Test
    public void wrongLengthIsRefusedWithBothNumbers() {
        try {
            TensorInput.fromBytes(new byte[12], new long[] {1, 2}, "int64");
            fail("12 bytes accepted for two int64 values");
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("12 bytes") && e.getMessage().contains("needs 16"));
        }
    }

    @Test
    public void badShapesAndDtypesAreRefused() {
        long[][] shapes = { {}, {1, 0}, {-1, 4}, {1 << 20, 1 << 20} };
        for (long[] shape : shapes) {
            try {
                TensorInput.numel(shape);
                fail("shape " + Arrays.toString(shape) + " accepted");
            } catch (IllegalArgumentException expected) {
                // refused
            }
        }
        try {
            TensorInput.fromBytes(new byte[4], new long[] {1}, "float16");
            fail("float16 accepted");
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("float16"));
        }
    }

    @Test
    public void valuesOfTheOtherDtypeAreNotHandedOut() {
        TensorInput floats = TensorInput.fromBytes(new byte[4], new long[] {1}, "float32");
        try {
            floats.longs();
            fail("int64 values of a float32 input");
        } catch (IllegalStateException expected) {
            assertEquals("input float32 [1] (1 values)", floats.describe());
        }
    }

    /** Raw bytes of a golden file (Goldens reads whole 4-byte values only). */
    private static byte[] raw(String name) throws IOException {
        try (InputStream in = TensorInputTest.class.getResourceAsStream("/golden/" + name)) {
            if (in == null) {
                throw new IOException("/golden/" + name + " is missing from the test resources");
            }
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            byte[] chunk = new byte[1 << 16];
            int n;
            while ((n = in.read(chunk)) > 0) {
                bytes.write(chunk, 0, n);
            }
            return bytes.toByteArray();
        }
    }
}
