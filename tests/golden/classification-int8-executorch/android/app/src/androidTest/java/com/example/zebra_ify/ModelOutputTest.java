package com.example.zebra_ify;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import android.content.Context;
import android.graphics.Bitmap;
import android.graphics.BitmapFactory;

import androidx.test.ext.junit.runners.AndroidJUnit4;
import androidx.test.platform.app.InstrumentationRegistry;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Locale;
import org.junit.Test;
import org.junit.runner.RunWith;

/**
 * On a device: the app's own model, fed the bundled sample through the app's own preprocessing,
 * must produce what ExecuTorch produced on the host.
 */
@RunWith(AndroidJUnit4.class)
public class ModelOutputTest {
    private static final String EXPECTED_ASSET = "expected_output.bin";
    private static final double TOLERANCE = 0.430865;
    /** Why TOLERANCE is this value (scaffold.toml, [model.quantization] device_tolerance). */
    private static final String TOLERANCE_REASON =
            "9 x output_step 0.0478739 (the int8 output's quantization step): ExecuTorch's int8 kernels on this host and the PT2E reference, which round intermediate values differently, differed by up to 9 step(s) on the 32 calibration pictures; the phones' XNNPACK kernels may round differently from this host's";
    /** Relative part, as numpy.allclose: allowed = TOLERANCE + RTOL * |host value|. */
    private static final double RTOL = 1e-05;

    @Test
    public void sampleOutputMatchesHost() throws Exception {
        Context app = InstrumentationRegistry.getInstrumentation().getTargetContext();
        ModelRunner runner = ModelRunner.load(app);
        assertFalse("the model's embedded " + ModelRunner.METADATA_KEY + " was not read",
                runner.metadataJson().isEmpty());
        assertTrue("the embedded metadata did not parse; see logcat for ModelRunner",
                runner.specFromMetadata());

        Bitmap sample = decodeSample(app);
        ModelSpec spec = runner.spec();
        // The sample is stored at the input size, so no resampling blurs the comparison.
        assertEquals("sample width", spec.width, sample.getWidth());
        assertEquals("sample height", spec.height, sample.getHeight());

        ModelRunner.Result result = runner.run(sample);
        float[] expected = readFloats(InstrumentationRegistry.getInstrumentation().getContext(),
                EXPECTED_ASSET);
        assertEquals("number of output values", expected.length, result.data.length);
        // The worst value is the one furthest beyond its own allowance.
        double worstExcess = Double.NEGATIVE_INFINITY;
        int worst = -1;
        for (int i = 0; i < expected.length; i++) {
            double d = Math.abs((double) result.data[i] - expected[i]);
            double excess = d - (TOLERANCE + RTOL * Math.abs((double) expected[i]));
            if (!(excess <= worstExcess)) {
                worstExcess = excess;
                worst = i;
            }
            if (Double.isNaN(d)) {
                break;
            }
        }
        String message = String.format(Locale.ROOT,
                "diff %g at index %d (device %s, host %s), tolerance %g + rtol %g x |host|",
                worst < 0 ? 0.0 : Math.abs((double) result.data[worst] - expected[worst]), worst,
                worst < 0 ? "-" : String.valueOf(result.data[worst]),
                worst < 0 ? "-" : String.valueOf(expected[worst]), TOLERANCE, RTOL)
                + "; TOLERANCE is " + TOLERANCE_REASON;
        assertTrue(message, worstExcess <= 0.0);
    }

    private static Bitmap decodeSample(Context app) throws IOException {
        BitmapFactory.Options options = new BitmapFactory.Options();
        options.inScaled = false;
        options.inPreferredConfig = Bitmap.Config.ARGB_8888;
        try (InputStream in = app.getAssets().open(MainActivity.SAMPLE_ASSET)) {
            Bitmap bitmap = BitmapFactory.decodeStream(in, null, options);
            assertNotNull("cannot decode " + MainActivity.SAMPLE_ASSET, bitmap);
            return ModelRunner.toArgb8888(bitmap);
        }
    }

    /** From the test APK's own assets (src/androidTest/assets), not the app's. */
    private static float[] readFloats(Context testContext, String name) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (InputStream in = testContext.getAssets().open(name)) {
            byte[] chunk = new byte[1 << 16];
            int n;
            while ((n = in.read(chunk)) > 0) {
                bytes.write(chunk, 0, n);
            }
        }
        byte[] data = bytes.toByteArray();
        assertEquals(name + " must hold whole float32 values", 0, data.length % 4);
        float[] out = new float[data.length / 4];
        ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
        return out;
    }
}
