package com.example.zebra_ify;

import android.content.ActivityNotFoundException;
import android.content.Context;
import android.graphics.Bitmap;
import android.graphics.BitmapFactory;
import android.graphics.ColorSpace;
import android.graphics.ImageDecoder;
import android.net.Uri;
import android.os.Build;
import android.os.Bundle;
import android.util.Log;
import android.view.View;
import android.widget.Button;
import android.widget.ImageView;
import android.widget.ProgressBar;
import android.widget.TextView;

import androidx.activity.result.ActivityResultLauncher;
import androidx.activity.result.PickVisualMediaRequest;
import androidx.activity.result.contract.ActivityResultContracts;
import androidx.appcompat.app.AppCompatActivity;
import androidx.core.content.FileProvider;
import androidx.core.graphics.Insets;
import androidx.core.view.ViewCompat;
import androidx.core.view.WindowInsetsCompat;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

public class MainActivity extends AppCompatActivity {
    private static final String TAG = "MainActivity";
    static final String SAMPLE_ASSET = "sample.png";
    /** Photos are decoded at most this large; a 12 MP ARGB frame alone is 48 MB. */
    private static final int MAX_DECODE_SIDE = 2048;

    // Static so the model is loaded once per process, not once per rotation, and one thread so
    // forward() is never entered twice at the same time.
    private static final ExecutorService EXECUTOR = Executors.newSingleThreadExecutor();
    private static ModelRunner runner;

    private ImageView inputImage;
    private ImageView resultImage;
    private TextView resultText;
    private ProgressBar progress;
    private Button takePhotoButton;
    private Button pickPhotoButton;
    private Button sampleButton;

    private final ActivityResultLauncher<Uri> takePicture =
            registerForActivityResult(new ActivityResultContracts.TakePicture(), saved -> {
                if (Boolean.TRUE.equals(saved)) {
                    Uri uri = photoUri();
                    process(() -> decodeUri(uri));
                }
            });

    private final ActivityResultLauncher<PickVisualMediaRequest> pickPhoto =
            registerForActivityResult(new ActivityResultContracts.PickVisualMedia(), uri -> {
                if (uri != null) {
                    process(() -> decodeUri(uri));
                }
            });

    private interface BitmapSource {
        Bitmap load() throws IOException;
    }

    private static final class Shown {
        final Bitmap image;
        final String text;

        Shown(Bitmap image, String text) {
            this.image = image;
            this.text = text;
        }
    }

    @Override
    protected void onCreate(Bundle savedInstanceState) {
        super.onCreate(savedInstanceState);
        setContentView(R.layout.activity_main);
        padForSystemBars(findViewById(R.id.root));
        inputImage = findViewById(R.id.input_image);
        resultImage = findViewById(R.id.result_image);
        resultText = findViewById(R.id.result_text);
        progress = findViewById(R.id.progress);
        takePhotoButton = findViewById(R.id.take_photo);
        pickPhotoButton = findViewById(R.id.pick_photo);
        sampleButton = findViewById(R.id.sample);

        takePhotoButton.setOnClickListener(v -> {
            try {
                takePicture.launch(photoUri());
            } catch (ActivityNotFoundException e) {
                resultText.setText("No camera app found on this device.");
            }
        });
        pickPhotoButton.setOnClickListener(v -> pickPhoto.launch(
                new PickVisualMediaRequest.Builder()
                        .setMediaType(ActivityResultContracts.PickVisualMedia.ImageOnly.INSTANCE)
                        .build()));
        sampleButton.setOnClickListener(v -> process(this::decodeSample));
    }

    /**
     * Apps targeting Android 15 (API 35) and later are drawn edge to edge: the window reaches under
     * the status bar, the navigation bar and any display cutout. Padding the root by those insets
     * (on top of its own padding) keeps every button and result clear of them; on older releases
     * the system has already consumed the insets and they are zero here.
     */
    private static void padForSystemBars(View root) {
        int left = root.getPaddingLeft();
        int top = root.getPaddingTop();
        int right = root.getPaddingRight();
        int bottom = root.getPaddingBottom();
        ViewCompat.setOnApplyWindowInsetsListener(root, (view, insets) -> {
            Insets bars = insets.getInsets(
                    WindowInsetsCompat.Type.systemBars() | WindowInsetsCompat.Type.displayCutout());
            view.setPadding(left + bars.left, top + bars.top, right + bars.right, bottom + bars.bottom);
            return insets;
        });
    }

    /** Where TakePicture writes; a fixed name, so a recreated Activity finds the same file. */
    private Uri photoUri() {
        File dir = new File(getCacheDir(), "photos");
        if (!dir.isDirectory() && !dir.mkdirs()) {
            Log.w(TAG, "cannot create " + dir);
        }
        return FileProvider.getUriForFile(
                this, getPackageName() + ".fileprovider", new File(dir, "capture.jpg"));
    }

    private void process(BitmapSource source) {
        setBusy(true);
        EXECUTOR.execute(() -> {
            try {
                Bitmap input = source.load();
                ModelRunner model = runner(getApplicationContext());
                ModelRunner.Result result = model.run(input);
                Shown shown = render(model, input, result);
                String header = String.format(Locale.ROOT, "Inference: %.1f ms on %s\n\n",
                        result.millis, model.deviceName());
                post(() -> {
                    inputImage.setImageBitmap(input);
                    resultImage.setImageBitmap(shown.image);
                    resultImage.setVisibility(shown.image == null ? View.GONE : View.VISIBLE);
                    resultText.setText(header + shown.text);
                    setBusy(false);
                });
            } catch (Exception | LinkageError | OutOfMemoryError e) {
                showFailure(e);
            }
        });
    }

    private void showFailure(Throwable e) {
        // LinkageError covers a missing or misaligned libexecutorch.so.
        Log.e(TAG, "inference failed", e);
        String message = "Error: " + e;
        post(() -> {
            resultText.setText(message);
            setBusy(false);
        });
    }

    /** Loads the model on first use; only called on the executor thread. */
    private static ModelRunner runner(Context appContext) throws IOException {
        if (runner == null) {
            runner = ModelRunner.load(appContext);
        }
        return runner;
    }

    private Shown render(ModelRunner model, Bitmap input, ModelRunner.Result result) {
        ModelSpec spec = model.spec();
        long[] shape = result.shape;
        float[] probs = Outputs.probabilities(result.data);
        int[] top = ImageTensors.topK(probs, 5);
        return new Shown(null, Outputs.formatTopK(probs, top, spec.labels()));
    }

    private Bitmap decodeSample() throws IOException {
        BitmapFactory.Options options = new BitmapFactory.Options();
        options.inScaled = false;
        options.inPreferredConfig = Bitmap.Config.ARGB_8888;
        try (InputStream in = getAssets().open(SAMPLE_ASSET)) {
            Bitmap bitmap = BitmapFactory.decodeStream(in, null, options);
            if (bitmap == null) {
                throw new IOException("cannot decode asset " + SAMPLE_ASSET);
            }
            return ModelRunner.toArgb8888(bitmap);
        }
    }

    private Bitmap decodeUri(Uri uri) throws IOException {
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.P) {
            // ImageDecoder also applies the EXIF rotation; BitmapFactory below does not.
            ImageDecoder.Source source = ImageDecoder.createSource(getContentResolver(), uri);
            Bitmap bitmap = ImageDecoder.decodeBitmap(source, (decoder, info, src) -> {
                decoder.setAllocator(ImageDecoder.ALLOCATOR_SOFTWARE);
                decoder.setTargetColorSpace(ColorSpace.get(ColorSpace.Named.SRGB));
                decoder.setTargetSampleSize(
                        sampleSize(info.getSize().getWidth(), info.getSize().getHeight()));
            });
            return ModelRunner.toArgb8888(bitmap);
        }
        BitmapFactory.Options options = new BitmapFactory.Options();
        options.inJustDecodeBounds = true;
        try (InputStream in = getContentResolver().openInputStream(uri)) {
            BitmapFactory.decodeStream(in, null, options);
        }
        options.inJustDecodeBounds = false;
        options.inSampleSize = sampleSize(options.outWidth, options.outHeight);
        options.inPreferredConfig = Bitmap.Config.ARGB_8888;
        Bitmap bitmap;
        try (InputStream in = getContentResolver().openInputStream(uri)) {
            bitmap = BitmapFactory.decodeStream(in, null, options);
        }
        if (bitmap == null) {
            throw new IOException("cannot decode " + uri);
        }
        return ModelRunner.toArgb8888(bitmap);
    }

    private static int sampleSize(int width, int height) {
        int sample = 1;
        while (Math.max(width, height) / sample > MAX_DECODE_SIDE) {
            sample *= 2;
        }
        return sample;
    }

    private void setBusy(boolean busy) {
        progress.setVisibility(busy ? View.VISIBLE : View.GONE);
        takePhotoButton.setEnabled(!busy);
        pickPhotoButton.setEnabled(!busy);
        sampleButton.setEnabled(!busy);
    }

    /** Runs on the main thread unless the Activity is gone (rotated or closed) by then. */
    private void post(Runnable action) {
        runOnUiThread(() -> {
            if (!isDestroyed()) {
                action.run();
            }
        });
    }
}
