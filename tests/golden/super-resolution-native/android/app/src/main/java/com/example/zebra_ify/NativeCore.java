package com.example.zebra_ify;

import java.io.Closeable;
import java.nio.charset.StandardCharsets;

/**
 * The shared C++ inference core (app/src/main/cpp) seen from Java.
 *
 * <p>The {@code --android-api native} variant runs the model through this class instead of
 * {@code org.pytorch.LiteModuleLoader}, so Android and iOS execute the same C++ between the
 * input tensor and the output tensor, and {@code scaffold check} can run that C++ on the host.
 * Strings cross JNI as UTF-8 bytes: JNI's own string functions use "modified UTF-8", which
 * mangles characters outside the BMP (an emoji in a label or a path).
 *
 * <p>Calls on one instance are serialized; close it to free the native model.
 */
public final class NativeCore implements Closeable {
    static {
        // Must match the library name in app/src/main/cpp/CMakeLists.txt.
        System.loadLibrary("scaffold_native");
    }

    /** The first output tensor of one forward() call, as contiguous float32 values. */
    public static final class Output {
        public final float[] data;
        public final long[] shape;

        Output(float[] data, long[] shape) {
            this.data = data;
            this.shape = shape;
        }
    }

    private long handle;

    /**
     * Loads a lite-interpreter model from a file path (assets must be copied to a file first).
     *
     * @throws RuntimeException if the file is missing or is not a model this runtime can load
     */
    public NativeCore(String modelPath) {
        if (modelPath == null) {
            throw new IllegalArgumentException("modelPath must not be null");
        }
        handle = nativeLoad(modelPath.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Runs forward() on one float32 tensor.
     *
     * @throws IllegalArgumentException if {@code shape} does not describe {@code input}
     * @throws IllegalStateException after {@link #close()}
     */
    public synchronized Output run(float[] input, long[] shape) {
        ensureOpen();
        if (input == null || shape == null) {
            throw new IllegalArgumentException("input and shape must not be null");
        }
        float[] data = nativeRun(handle, input, shape);
        return new Output(data, nativeOutputShape(handle));
    }

    /**
     * Runs forward() on one int64 tensor (token ids and other indices).
     *
     * @throws IllegalArgumentException if {@code shape} does not describe {@code input}
     * @throws IllegalStateException after {@link #close()}
     */
    public synchronized Output runInt64(long[] input, long[] shape) {
        ensureOpen();
        if (input == null || shape == null) {
            throw new IllegalArgumentException("input and shape must not be null");
        }
        float[] data = nativeRunInt64(handle, input, shape);
        return new Output(data, nativeOutputShape(handle));
    }

    /** The metadata JSON embedded in the model ("scaffold.json"), or "" if it has none. */
    public synchronized String metadata() {
        ensureOpen();
        return new String(nativeMetadata(handle), StandardCharsets.UTF_8);
    }

    public synchronized boolean isClosed() {
        return handle == 0;
    }

    @Override
    public synchronized void close() {
        if (handle != 0) {
            nativeClose(handle);
            handle = 0;
        }
    }

    private void ensureOpen() {
        if (handle == 0) {
            throw new IllegalStateException("NativeCore is closed");
        }
    }

    private static native long nativeLoad(byte[] utf8Path);

    private static native float[] nativeRun(long handle, float[] input, long[] shape);

    private static native float[] nativeRunInt64(long handle, long[] input, long[] shape);

    private static native long[] nativeOutputShape(long handle);

    private static native byte[] nativeMetadata(long handle);

    private static native void nativeClose(long handle);
}
