import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;

import com.example.pixels.ImageTensors;

/**
 * Host-JVM timing of ImageTensors' pixel conversions on one frame, against System.arraycopy of
 * the CHW float array they produce or consume (the cheapest possible pass over the same data).
 * Run by benchmarks/bench_pixels.py, which compiles it beside the rendered ImageTensors.java and
 * tests/java/PixelReference.java (the code before the rewrite: the "before" rows).
 *
 * <p>Args: WIDTH HEIGHT RUNS. Prints one "name TAB median_ms" line per row. The rendering
 * context's package is com.example.pixels (bench_pixels.PACKAGE).
 */
public final class PixelBench {
    private static volatile Object sink;

    interface Body {
        Object run();
    }

    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    /**
     * Median thread CPU time per body, the bodies taking turns run by run: on a shared machine
     * wall time mostly measures the neighbours, and taking turns spreads what remains evenly.
     */
    private static double[] medianMillis(Body[] bodies, int runs) {
        double[][] times = new double[bodies.length][runs];
        for (int r = 0; r < runs; r++) {
            for (int b = 0; b < bodies.length; b++) {
                long start = THREADS.getCurrentThreadCpuTime();
                sink = bodies[b].run();
                times[b][r] = (THREADS.getCurrentThreadCpuTime() - start) / 1e6;
            }
        }
        double[] medians = new double[bodies.length];
        for (int b = 0; b < bodies.length; b++) {
            Arrays.sort(times[b]);
            medians[b] = times[b][runs / 2];
        }
        return medians;
    }

    public static void main(String[] args) {
        int width = Integer.parseInt(args[0]);
        int height = Integer.parseInt(args[1]);
        int runs = Integer.parseInt(args[2]);
        int plane = width * height;
        Random random = new Random(20261123L);
        int[] argb = new int[plane];
        for (int i = 0; i < plane; i++) {
            argb[i] = random.nextInt();
        }
        // ImageNet normalization in, a tanh generator's [-1, 1] out: what the samples use.
        float[] mean = {0.485f, 0.456f, 0.406f};
        float[] std = {0.229f, 0.224f, 0.225f};
        float[] outMean = {0.5f, 0.5f, 0.5f};
        float[] outStd = {0.5f, 0.5f, 0.5f};
        float[] chw = new float[3 * plane];
        for (int i = 0; i < chw.length; i++) {
            chw[i] = random.nextFloat() * 2.2f - 1.1f;  // a little beyond [-1, 1]: clamping runs too
        }
        float[] floatCopy = new float[3 * plane];
        int[] intCopy = new int[plane];
        float[] tensor = new float[3 * plane];
        int[] pixels = new int[plane];
        Body[] bodies = {
            () -> { System.arraycopy(chw, 0, floatCopy, 0, chw.length); return floatCopy; },
            () -> { System.arraycopy(argb, 0, intCopy, 0, argb.length); return intCopy; },
            () -> PixelReference.argbToChw(argb, width, height, mean, std),
            () -> ImageTensors.argbToChw(argb, width, height, mean, std),
            () -> ImageTensors.argbToChw(argb, width, height, mean, std, tensor),
            () -> PixelReference.chwToArgb(chw, width, height, outMean, outStd),
            () -> ImageTensors.chwToArgb(chw, width, height, outMean, outStd),
            () -> ImageTensors.chwToArgb(chw, width, height, outMean, outStd, pixels),
        };
        // "after" is the call the apps make: into an array they keep from frame to frame.
        String[] names = {
            "arraycopy float[3*w*h]", "arraycopy int[w*h]",
            "argbToChw before", "argbToChw new array", "argbToChw after",
            "chwToArgb before", "chwToArgb new array", "chwToArgb after",
        };
        // Warm-up: enough calls for C2 to compile every body before anything is timed.
        medianMillis(bodies, 30);
        double[] medians = medianMillis(bodies, runs);
        for (int b = 0; b < bodies.length; b++) {
            System.out.println(String.format(Locale.ROOT, "%s\t%.3f", names[b], medians[b]));
        }
    }
}
