package com.example.zebra_ify;

import android.content.Context;
import android.content.pm.PackageManager;
import android.content.res.AssetFileDescriptor;
import android.graphics.Bitmap;
import android.os.SystemClock;
import android.util.Log;

import org.json.JSONArray;
import org.json.JSONException;
import org.json.JSONObject;

import java.io.File;
import java.io.FileNotFoundException;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;

/** Loads the model shipped in the assets and runs it on bitmaps. Not thread-safe: use one thread. */
public final class ModelRunner {
    private static final String TAG = "ModelRunner";
    static final String MODEL_ASSET = "model.ptl";
    static final String METADATA_KEY = "scaffold.json";

    /** The first output tensor of one forward pass. */
    public static final class Result {
        public final float[] data;
        public final long[] shape;
        /** Time spent in forward() alone, without pre- or post-processing. */
        public final double millis;

        Result(float[] data, long[] shape, double millis) {
            this.data = data;
            this.shape = shape;
            this.millis = millis;
        }
    }

    private final String modelPath;
    private final ModelSpec spec;
    private final String metadataJson;
    private final boolean specFromMetadata;
    // --android-api native: the shared C++ core (app/src/main/cpp) runs the model on the LibTorch
    // inside pytorch_android_lite; the iOS app runs the same core.
    private final NativeCore core;

    private ModelRunner(String modelPath, NativeCore core, String metadataJson) {
        this.modelPath = modelPath;
        this.core = core;
        this.metadataJson = metadataJson == null ? "" : metadataJson;
        ModelSpec parsed = null;
        if (this.metadataJson.isEmpty()) {
            Log.w(TAG, "the model carries no " + METADATA_KEY
                    + "; using the values from generation time, which may not match this model");
        } else {
            try {
                parsed = parseSpec(this.metadataJson);
            } catch (JSONException | IllegalArgumentException e) {
                Log.w(TAG, "unreadable " + METADATA_KEY + "; using the values from generation"
                        + " time, which may not match this model", e);
            }
        }
        this.specFromMetadata = parsed != null;
        this.spec = parsed != null ? parsed : ModelSpec.defaults();
    }

    /** Copies the model out of the APK if needed and loads it. Slow: call off the main thread. */
    public static ModelRunner load(Context context) throws IOException {
        File file = copyAsset(context, MODEL_ASSET);
        String path = file.getAbsolutePath();
        if (BuildConfig.USE_VULKAN) {
            Log.w(TAG, "scaffold.useVulkan is ignored by the native core, which runs on the CPU");
        }
        NativeCore core = new NativeCore(path);
        return new ModelRunner(path, core, core.metadata());
    }


    public ModelSpec spec() {
        return spec;
    }

    /** The raw embedded metadata, empty when the model has none. */
    public String metadataJson() {
        return metadataJson;
    }

    /** False when the spec is {@link ModelSpec#defaults()} because the metadata was missing. */
    public boolean specFromMetadata() {
        return specFromMetadata;
    }

    /** "Vulkan (requested)": the runtime cannot tell whether its build really has Vulkan. */
    public String deviceName() {
        return "CPU (native core)";
    }

    /** Scales the bitmap to the model's input size, normalizes it and runs forward(). */
    public Result run(Bitmap source) {
        int w = spec.width;
        int h = spec.height;
        int[] pixels = inputPixels(source);
        if (spec.inputChannels == 1) {
            // A luma model (super-resolution): it sees the Y plane only.
            float[] y = ImageTensors.argbToY(pixels, w, h, spec.mean()[0], spec.std()[0]);
            return runTensor(y, new long[] {1, 1, h, w});
        }
        return runTensor(inputTensor(pixels), new long[] {1, 3, h, w});
    }

    /** The picture scaled to the model's input size, as ARGB_8888 ints. */
    public int[] inputPixels(Bitmap source) {
        Bitmap argb = toArgb8888(source);
        int w = spec.width;
        int h = spec.height;
        Bitmap scaled = argb.getWidth() == w && argb.getHeight() == h
                ? argb
                : Bitmap.createScaledBitmap(argb, w, h, true);
        int[] pixels = new int[w * h];
        scaled.getPixels(pixels, 0, w, 0, 0, w, h);
        return pixels;
    }

    /** Runs forward() on an already normalized NCHW float tensor. */
    public Result runTensor(float[] data, long[] shape) {
        long start = SystemClock.elapsedRealtimeNanos();
        NativeCore.Output output = core.run(data, shape);
        double millis = (SystemClock.elapsedRealtimeNanos() - start) / 1e6;
        return new Result(output.data, output.shape, millis);
    }

    private float[] inputChw;

    /**
     * The model's input tensor for these pixels ({@code inputPixels}), in an array kept from call
     * to call: Tensor.fromBlob (and the native core's GetFloatArrayRegion) copy it before run()
     * returns, so an app converting frame after frame does not allocate a tensor per frame.
     */
    private float[] inputTensor(int[] pixels) {
        if (inputChw == null) {
            inputChw = new float[3 * spec.width * spec.height];
        }
        return ImageTensors.argbToChw(pixels, spec.width, spec.height, spec.mean(), spec.std(), inputChw);
    }

    /**
     * A luma model's output (shape [1, 1, H, W]) with the colors of the input pixels
     * ({@code inputPixels}, the model's input size) to a picture; see {@link ImageTensors#yToArgb}.
     */
    public static Bitmap lumaToBitmap(float[] y, long[] shape, ModelSpec spec, int[] inputPixels) {
        int n = shape.length;
        if (n < 3 || shape[n - 3] != 1) {
            throw new IllegalArgumentException(
                    "expected an output of shape [1, 1, H, W], got " + Arrays.toString(shape));
        }
        int h = (int) shape[n - 2];
        int w = (int) shape[n - 1];
        int[] argb = ImageTensors.yToArgb(y, w, h, spec.outputMean()[0], spec.outputStd()[0],
                inputPixels, spec.width, spec.height);
        return Bitmap.createBitmap(argb, w, h, Bitmap.Config.ARGB_8888);
    }

    /**
     * Output tensor (shape [..., 3, H, W], batch 1) to a picture; see
     * {@link ImageTensors#chwToArgb} for mean/std.
     */
    public static Bitmap toBitmap(float[] chw, long[] shape, float[] mean, float[] std) {
        int n = shape.length;
        if (n < 3 || shape[n - 3] != 3) {
            throw new IllegalArgumentException(
                    "expected an output of shape [1, 3, H, W], got " + Arrays.toString(shape));
        }
        int h = (int) shape[n - 2];
        int w = (int) shape[n - 1];
        int[] argb = ImageTensors.chwToArgb(chw, w, h, mean, std);
        return Bitmap.createBitmap(argb, w, h, Bitmap.Config.ARGB_8888);
    }

    /**
     * A software ARGB_8888 bitmap: getPixels fails on HARDWARE bitmaps, and F16 or RGB_565 would
     * change the values the model sees.
     */
    public static Bitmap toArgb8888(Bitmap bitmap) {
        if (bitmap.getConfig() == Bitmap.Config.ARGB_8888) {
            return bitmap;
        }
        Bitmap copy = bitmap.copy(Bitmap.Config.ARGB_8888, false);
        if (copy == null) {
            throw new IllegalStateException("cannot convert a " + bitmap.getConfig() + " bitmap");
        }
        return copy;
    }

    /**
     * The runtime loads from a file path only, and assets inside the APK have none, so the model
     * is copied to internal storage. It is copied again when the size differs or the app was
     * updated since: a retrained model usually has exactly the same size.
     */
    static File copyAsset(Context context, String name) throws IOException {
        File out = new File(context.getFilesDir(), name);
        long assetLength = -1;
        try (AssetFileDescriptor fd = context.getAssets().openFd(name)) {
            assetLength = fd.getLength();
        } catch (FileNotFoundException e) {
            // openFd only works on assets stored uncompressed (androidResources.noCompress).
            Log.w(TAG, name + " has no file descriptor (compressed in the APK?); copying it", e);
        }
        if (out.isFile() && assetLength >= 0 && out.length() == assetLength
                && out.lastModified() >= lastUpdateTime(context)) {
            return out;
        }
        File tmp = new File(out.getPath() + ".tmp");
        byte[] buffer = new byte[1 << 16];
        try (InputStream in = context.getAssets().open(name);
                OutputStream os = new FileOutputStream(tmp)) {
            int n;
            while ((n = in.read(buffer)) > 0) {
                os.write(buffer, 0, n);
            }
        }
        // Rename so an interrupted copy never leaves a truncated model behind.
        if (!tmp.renameTo(out)) {
            throw new IOException("cannot move " + tmp + " to " + out);
        }
        return out;
    }

    @SuppressWarnings("deprecation")
    private static long lastUpdateTime(Context context) {
        try {
            return context.getPackageManager()
                    .getPackageInfo(context.getPackageName(), 0).lastUpdateTime;
        } catch (PackageManager.NameNotFoundException e) {
            return Long.MAX_VALUE;
        }
    }

    /** The embedded metadata (see docs: formats 1 and 2) to a ModelSpec. */
    static ModelSpec parseSpec(String json) throws JSONException {
        JSONObject root = new JSONObject(json);
        int format = root.optInt("format", 0);
        if (format < 1 || format > 2) {
            Log.w(TAG, METADATA_KEY + " has format " + format + ", this app reads formats 1-2");
        }
        JSONObject input = root.getJSONObject("input");
        double[] range = null;
        JSONObject output = root.optJSONObject("output");
        if (output != null && output.has("range") && !output.isNull("range")) {
            JSONArray r = output.getJSONArray("range");
            range = new double[] {r.getDouble(0), r.getDouble(1)};
        }
        JSONArray labelArray = root.optJSONArray("labels");
        String[] labels = new String[labelArray == null ? 0 : labelArray.length()];
        for (int i = 0; i < labels.length; i++) {
            labels[i] = labelArray.getString(i);
        }
        JSONArray paletteArray = root.optJSONArray("palette");
        int[][] palette = new int[paletteArray == null ? 0 : paletteArray.length()][];
        for (int i = 0; i < palette.length; i++) {
            JSONArray c = paletteArray.getJSONArray(i);
            palette[i] = new int[] {c.getInt(0), c.getInt(1), c.getInt(2)};
        }
        return new ModelSpec(
                root.getString("task"),
                input.getInt("width"),
                input.getInt("height"),
                floats(input.getJSONArray("mean")),
                floats(input.getJSONArray("std")),
                range,
                labels,
                palette,
                input.optInt("channels", 3));
    }

    /**
     * Detection settings from the embedded metadata, or from generation time when it has none;
     * null when the model is not a detector.
     */
    public Detections.Settings detection() {
        if (!metadataJson.isEmpty()) {
            try {
                JSONObject d = new JSONObject(metadataJson).optJSONObject("detection");
                if (d != null) {
                    return new Detections.Settings(
                            d.getString("layout"),
                            "normalized".equals(d.getString("box_units")),
                            "logits".equals(d.getString("scores")),
                            (float) d.getDouble("score_threshold"),
                            d.getDouble("iou_threshold"),
                            d.getInt("max_detections"));
                }
            } catch (JSONException | IllegalArgumentException e) {
                Log.w(TAG, "unreadable detection settings in " + METADATA_KEY
                        + "; using the values from generation time", e);
            }
        }
        return Detections.Settings.generated();
    }

    /** Double from JSON, then one rounding to float: the same value torch uses for float32. */
    private static float[] floats(JSONArray a) throws JSONException {
        float[] out = new float[a.length()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) a.getDouble(i);
        }
        return out;
    }

}
