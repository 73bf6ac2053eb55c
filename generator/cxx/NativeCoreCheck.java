import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.Arrays;

/**
 * Host-only check of a generated NativeCore class (the --android-api native variant), run by
 * generator/native.py in a plain JVM with the host build of libscaffold_native.so on
 * java.library.path. Never shipped in generated projects.
 *
 * <p>The generated class lives in the user's package, so it is reached by reflection instead of
 * compiling this file once per package.
 *
 * <p>Arguments: CLASS MODEL INPUT DTYPE SHAPE EXPECTED.f32 TOLERANCE RTOL [BAD_MODEL], where INPUT
 * holds little-endian float32 or (DTYPE int64) int64 values, fed through run or runInt64, and a
 * value passes when |actual - expected| <= TOLERANCE + RTOL * |expected|. Prints key=value
 * lines; exit status 0 when everything matched, 1 when a check failed, 2 on unexpected errors.
 */
public final class NativeCoreCheck {
    private NativeCoreCheck() {}

    public static void main(String[] args) {
        try {
            System.exit(check(args));
        } catch (Throwable t) {
            Throwable cause = unwrap(t);
            System.out.println("error=" + oneLine(cause.getClass().getName() + ": " + cause.getMessage()));
            System.exit(2);
        }
    }

    private static int check(String[] args) throws Exception {
        if (args.length != 8 && args.length != 9) {
            System.out.println(
                    "error=usage: CLASS MODEL INPUT DTYPE SHAPE EXPECTED TOLERANCE RTOL [BAD_MODEL]");
            return 2;
        }
        Class<?> type = Class.forName(args[0]);
        Constructor<?> create = type.getConstructor(String.class);
        boolean int64 = "int64".equals(args[3]);
        Method run = int64 ? type.getMethod("runInt64", long[].class, long[].class)
                : type.getMethod("run", float[].class, long[].class);
        Method metadata = type.getMethod("metadata");
        Method close = type.getMethod("close");
        ByteBuffer bytes = read(args[2]);
        Object input;
        int count;
        if (int64) {
            long[] longs = new long[bytes.remaining() / 8];
            bytes.asLongBuffer().get(longs);
            input = longs;
            count = longs.length;
        } else {
            float[] floats = new float[bytes.remaining() / 4];
            bytes.asFloatBuffer().get(floats);
            input = floats;
            count = floats.length;
        }
        long[] shape = Arrays.stream(args[4].split(",")).mapToLong(Long::parseLong).toArray();
        float[] expected = readFloats(args[5]);
        double tolerance = Double.parseDouble(args[6]);
        double rtol = Double.parseDouble(args[7]);
        boolean ok = true;

        Object core = create.newInstance(args[1]);
        Object output = run.invoke(core, input, shape);
        float[] data = (float[]) output.getClass().getField("data").get(output);
        long[] outShape = (long[]) output.getClass().getField("shape").get(output);
        System.out.println("shape=" + join(outShape));
        System.out.println("values=" + data.length);
        if (data.length != expected.length) {
            System.out.println("failure=output has " + data.length + " values, expected " + expected.length);
            ok = false;
        } else {
            // As numpy.allclose (and verify.compare_outputs): each value has its own allowance.
            double maxError = 0.0;
            double worstExcess = Double.NEGATIVE_INFINITY;
            int worst = -1;
            for (int i = 0; i < data.length; i++) {
                double error = Math.abs((double) data[i] - (double) expected[i]);
                if (Double.isNaN(error)) {
                    error = Double.POSITIVE_INFINITY;
                }
                maxError = Math.max(maxError, error);
                double excess = error - (tolerance + rtol * Math.abs((double) expected[i]));
                if (excess > worstExcess || worst < 0) {
                    worstExcess = excess;
                    worst = i;
                }
            }
            System.out.println("max_abs_error=" + maxError);
            if (worstExcess > 0) {
                System.out.println("failure=error " + Math.abs((double) data[worst] - expected[worst])
                        + " at index " + worst + " exceeds tolerance " + tolerance + " + rtol " + rtol
                        + " x |" + expected[worst] + "|");
                ok = false;
            }
        }
        String json = (String) metadata.invoke(core);
        System.out.println("metadata_hex=" + hex(json.getBytes(StandardCharsets.UTF_8)));

        // A wrong shape must surface as IllegalArgumentException, not crash the process.
        String badShape = expectThrows(() -> run.invoke(core, input, new long[] {count + 1}));
        System.out.println("bad_shape_error=" + oneLine(badShape));
        if (!badShape.startsWith("java.lang.IllegalArgumentException")) {
            System.out.println("failure=a wrong shape did not raise IllegalArgumentException");
            ok = false;
        }

        close.invoke(core);
        close.invoke(core);  // idempotent
        String closed = expectThrows(() -> run.invoke(core, input, shape));
        System.out.println("closed_error=" + oneLine(closed));
        if (!closed.startsWith("java.lang.IllegalStateException")) {
            System.out.println("failure=run after close did not raise IllegalStateException");
            ok = false;
        }

        if (args.length == 9) {
            String bad = expectThrows(() -> create.newInstance(args[8]));
            System.out.println("bad_model_error=" + oneLine(bad));
            if (bad.isEmpty() || bad.startsWith("java.lang.IllegalStateException")) {
                System.out.println("failure=loading a broken model did not raise an exception");
                ok = false;
            }
        }
        return ok ? 0 : 1;
    }

    private interface Call {
        Object call() throws Exception;
    }

    /** "" when the call returned, else the class and message of what it threw. */
    private static String expectThrows(Call call) {
        try {
            call.call();
            return "";
        } catch (Throwable t) {
            Throwable cause = unwrap(t);
            return cause.getClass().getName() + ": " + cause.getMessage();
        }
    }

    private static Throwable unwrap(Throwable t) {
        while (t instanceof InvocationTargetException && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    private static ByteBuffer read(String path) throws IOException {
        return ByteBuffer.wrap(Files.readAllBytes(Paths.get(path))).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static float[] readFloats(String path) throws IOException {
        ByteBuffer bytes = read(path);
        float[] values = new float[bytes.remaining() / 4];
        bytes.asFloatBuffer().get(values);
        return values;
    }

    private static String join(long[] values) {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < values.length; i++) {
            text.append(i == 0 ? "" : ",").append(values[i]);
        }
        return text.toString();
    }

    private static String hex(byte[] bytes) {
        StringBuilder text = new StringBuilder();
        for (byte b : bytes) {
            text.append(String.format("%02x", b & 0xFF));
        }
        return text.toString();
    }

    private static String oneLine(String text) {
        return text.replace('\n', ' ').replace('\r', ' ');
    }
}
