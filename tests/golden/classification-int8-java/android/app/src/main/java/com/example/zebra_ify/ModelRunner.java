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
import org.pytorch.Device;
import org.pytorch.IValue;
import org.pytorch.LiteModuleLoader;
import org.pytorch.MemoryFormat;
import org.pytorch.Module;
import org.pytorch.Tensor;

import java.io.File;
import java.io.FileNotFoundException;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

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
    /** Output used when the model returns a dict (key) or tuple/list (index); see chooseTensor. */
    static final String DEFAULT_OUTPUT_KEY =
            null;
    static final int DEFAULT_OUTPUT_INDEX = -1;

    private Module module;
    private Device device;
    private final String outputKey;
    private final int outputIndex;

    private ModelRunner(String modelPath, Module module, Device device, String metadataJson) {
        this.modelPath = modelPath;
        this.module = module;
        this.device = device;
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
        String key = DEFAULT_OUTPUT_KEY;
        int index = DEFAULT_OUTPUT_INDEX;
        if (parsed != null) {
            // The metadata travels with the model, so a replaced model brings its own choice.
            try {
                JSONObject output = new JSONObject(this.metadataJson).optJSONObject("output");
                if (output != null) {
                    key = output.has("key") ? output.getString("key") : null;
                    index = output.optInt("index", -1);
                }
            } catch (JSONException e) {
                Log.w(TAG, "unreadable output choice in " + METADATA_KEY, e);
            }
        }
        this.outputKey = key;
        this.outputIndex = index;
    }

    /** Copies the model out of the APK if needed and loads it. Slow: call off the main thread. */
    public static ModelRunner load(Context context) throws IOException {
        File file = copyAsset(context, MODEL_ASSET);
        String path = file.getAbsolutePath();
        if (BuildConfig.USE_VULKAN) {
            Map<String, String> extra = metadataRequest();
            try {
                Module module = LiteModuleLoader.load(path, extra, Device.VULKAN);
                // Loading succeeds even with the stock AAR: the missing backend only shows when
                // the first forward() runs (see runTensor).
                Log.w(TAG, "scaffold.useVulkan is on: model loaded for Vulkan. The stock"
                        + " pytorch_android_lite AAR has no Vulkan backend; with it the first"
                        + " forward() fails and the model is reloaded on the CPU. Only an AAR built"
                        + " with USE_VULKAN=1 runs it on the GPU.");
                return new ModelRunner(path, module, Device.VULKAN, extra.get(METADATA_KEY));
            } catch (RuntimeException e) {
                Log.w(TAG, "loading the model for Vulkan failed; loading it on the CPU", e);
            }
        }
        Map<String, String> extra = metadataRequest();
        Module module = LiteModuleLoader.load(path, extra, Device.CPU);
        return new ModelRunner(path, module, Device.CPU, extra.get(METADATA_KEY));
    }

    /** The runtime only fills keys that are already in the map, and needs the map to be mutable. */
    private static Map<String, String> metadataRequest() {
        Map<String, String> extra = new HashMap<>();
        extra.put(METADATA_KEY, "");
        return extra;
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
        return device == Device.VULKAN ? "Vulkan (requested)" : "CPU";
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
        return forward(Tensor.fromBlob(data, shape));
    }

    private Result forward(Tensor tensor) {
        IValue input = IValue.from(tensor);
        long start = SystemClock.elapsedRealtimeNanos();
        IValue output;
        try {
            output = module.forward(input);
        } catch (RuntimeException e) {
            if (device == Device.CPU) {
                throw e;
            }
            // The stock AAR (no Vulkan backend) fails here on the first call; a Vulkan build can
            // also lack a kernel for some operator. The CPU has them all.
            Log.w(TAG, "forward() failed on Vulkan (expected with the stock pytorch_android_lite"
                    + " AAR, which has no Vulkan backend); reloading the model on the CPU, which"
                    + " runs every later call", e);
            module.destroy();
            module = LiteModuleLoader.load(modelPath, metadataRequest(), Device.CPU);
            device = Device.CPU;
            start = SystemClock.elapsedRealtimeNanos();
            output = module.forward(input);
            Log.i(TAG, "the model now runs on the CPU");
        }
        double millis = (SystemClock.elapsedRealtimeNanos() - start) / 1e6;
        float[] packed = packedDetections(output);
        if (packed != null) {
            return new Result(packed, new long[] {packed.length / Detections.ROW, Detections.ROW},
                    millis);
        }
        Tensor tensor = chooseTensor(output, outputKey, outputIndex);
        long[] shape = tensor.shape();
        float[] data = floats(tensor);
        if (tensor.memoryFormat() != MemoryFormat.CONTIGUOUS) {
            // pytorch_android hands a channels-last output over as its raw NHWC (NDHWC) buffer,
            // tagged with its memory format; everything downstream reads NCHW.
            data = ImageTensors.channelsLastToContiguous(data, shape);
        }
        return new Result(data, shape, millis);
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

    /**
     * The output tensor the app shows: the dict entry {@code key}, the tuple/list item
     * {@code index}, else (metadata without a choice) the first tensor found.
     */
    static Tensor chooseTensor(IValue value, String key, int index) {
        if (key != null) {
            IValue entry = value.isDictStringKey() ? value.toDictStringKey().get(key) : null;
            if (entry == null || !entry.isTensor()) {
                throw new IllegalStateException(
                        "the model's output has no tensor entry '" + key + "'");
            }
            return entry.toTensor();
        }
        if (index >= 0) {
            IValue[] items =
                    value.isTuple() ? value.toTuple() : value.isList() ? value.toList() : null;
            if (items != null && index < items.length && items[index].isTensor()) {
                return items[index].toTensor();
            }
            if (value.isTensorList() && index < value.toTensorList().length) {
                return value.toTensorList()[index];
            }
            throw new IllegalStateException("the model's output has no tensor at index " + index);
        }
        return firstTensor(value);
    }

    private static Tensor firstTensor(IValue value) {
        if (value.isTensor()) {
            return value.toTensor();
        }
        if (value.isDictStringKey() && value.toDictStringKey().containsKey("out")) {
            return firstTensor(value.toDictStringKey().get("out"));
        }
        if (value.isTuple() && value.toTuple().length > 0) {
            return firstTensor(value.toTuple()[0]);
        }
        if (value.isTensorList() && value.toTensorList().length > 0) {
            return value.toTensorList()[0];
        }
        throw new IllegalStateException(
                "the model returned something other than a tensor or a tuple/list of tensors");
    }

    /**
     * torchvision-style detector outputs, (boxes N x 4, scores N, labels N), packed into one
     * N x 6 array (see {@link Detections#packBoxes}); null for any other output.
     */
    private static float[] packedDetections(IValue value) {
        Tensor[] parts = null;
        if (value.isTuple() && value.toTuple().length == 3) {
            IValue[] items = value.toTuple();
            if (items[0].isTensor() && items[1].isTensor() && items[2].isTensor()) {
                parts = new Tensor[] {items[0].toTensor(), items[1].toTensor(), items[2].toTensor()};
            }
        } else if (value.isTensorList() && value.toTensorList().length == 3) {
            parts = value.toTensorList();
        }
        if (parts == null) {
            return null;
        }
        long[] boxShape = parts[0].shape();
        if (boxShape.length == 0 || boxShape[boxShape.length - 1] != 4
                || parts[0].numel() != 4 * parts[1].numel()
                || parts[1].numel() != parts[2].numel()) {
            return null;
        }
        return Detections.packBoxes(floats(parts[0]), floats(parts[1]), floats(parts[2]));
    }

    private static float[] floats(Tensor t) {
        switch (t.dtype()) {
            case FLOAT32:
                return t.getDataAsFloatArray();
            case FLOAT64: {
                double[] d = t.getDataAsDoubleArray();
                float[] f = new float[d.length];
                for (int i = 0; i < d.length; i++) {
                    f[i] = (float) d[i];
                }
                return f;
            }
            case INT64: {
                long[] l = t.getDataAsLongArray();
                float[] f = new float[l.length];
                for (int i = 0; i < l.length; i++) {
                    f[i] = l[i];
                }
                return f;
            }
            case INT32: {
                int[] n = t.getDataAsIntArray();
                float[] f = new float[n.length];
                for (int i = 0; i < n.length; i++) {
                    f[i] = n[i];
                }
                return f;
            }
            case UINT8: {
                byte[] b = t.getDataAsUnsignedByteArray();
                float[] f = new float[b.length];
                for (int i = 0; i < b.length; i++) {
                    f[i] = b[i] & 0xFF;
                }
                return f;
            }
            default:
                throw new IllegalStateException("unsupported output dtype " + t.dtype());
        }
    }
}
