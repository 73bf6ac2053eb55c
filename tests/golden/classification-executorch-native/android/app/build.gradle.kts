plugins {
    alias(libs.plugins.android.application)
}

// Checked because the value is pasted into BuildConfig.java as a boolean literal: anything else
// would surface as a confusing Java compile error.
val useVulkan = providers.gradleProperty("scaffold.useVulkan").getOrElse("false").trim()
require(useVulkan == "true" || useVulkan == "false") {
    "scaffold.useVulkan in gradle.properties must be true or false, got '$useVulkan'"
}
// Set only by the generated CI (-Pscaffold.ciDebugSigning=true) so that it can build and check
// the release variant; a release you ship is signed with your own key, never the debug one.
val ciDebugSigning = providers.gradleProperty("scaffold.ciDebugSigning").getOrElse("false").trim() == "true"

// Where the C++ headers and .so files of pytorch_android_lite are unpacked for CMake (see the end).
val pytorchNativeDir: File = layout.buildDirectory.dir("pytorch_native/2.1.0").get().asFile

android {
    namespace = "com.example.zebra_ify"
    compileSdk = 36

    defaultConfig {
        applicationId = "com.example.zebra_ify"
        minSdk = 24
        targetSdk = 36
        versionCode = 1
        versionName = "1.0"
        testInstrumentationRunner = "androidx.test.runner.AndroidJUnitRunner"
        buildConfigField("boolean", "USE_VULKAN", useVulkan)
    }

    buildTypes {
        release {
            // R8 on, so that a release build proves the keep rules in proguard-rules.pro: without
            // them the app works in debug and crashes in release.
            isMinifyEnabled = true
            proguardFiles(
                getDefaultProguardFile("proguard-android-optimize.txt"),
                "proguard-rules.pro",
            )
            if (ciDebugSigning) {
                signingConfig = signingConfigs.getByName("debug")
            }
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    buildFeatures {
        buildConfig = true
    }

    androidResources {
        // The model is copied out of the APK at first start; a compressed asset cannot be
        // opened as a file descriptor and costs a full inflate instead.
        noCompress += listOf("ptl", "bin")
    }

    testOptions {
        // Host unit tests exercise plain Java only; stray android.* calls return defaults.
        unitTests.isReturnDefaultValues = true
    }

    // ---- native core (android_api == 'native') ----
    ndkVersion = "27.0.12077973"
    defaultConfig {
        externalNativeBuild {
            cmake {
                // pytorch_android_lite is built against the shared libc++: one C++ runtime in the
                // app, so LibTorch's exceptions and std::strings cross into our library intact.
                arguments += listOf(
                    "-DANDROID_STL=c++_shared",
                    "-DPYTORCH_NATIVE_DIR=" + pytorchNativeDir.absolutePath,
                )
            }
        }
    }
    externalNativeBuild {
        cmake {
            path = file("src/main/cpp/CMakeLists.txt")
            version = "3.22.1"
        }
    }
    packaging {
        jniLibs {
            // Each of these reaches the APK twice, byte-identical: from the AAR, and from our
            // CMake build (libc++_shared.so through ANDROID_STL, the other two because CMakeLists
            // links them as IMPORTED libraries, which AGP packages). Without pickFirsts
            // mergeNativeLibs fails with "2 files found with path lib/<abi>/...".
            // `scaffold check` compares this list with CMakeLists.txt.
            pickFirsts += listOf(
                "**/libpytorch_jni_lite.so",
                "**/libfbjni.so",
                "**/libc++_shared.so",
            )
        }
    }
    // ---- end native core ----
}

dependencies {
    implementation(libs.pytorch.android.lite)
    implementation(libs.androidx.appcompat)
    implementation(libs.androidx.activity)
    implementation(libs.androidx.core)
    implementation(libs.material)

    testImplementation(libs.junit)

    androidTestImplementation(libs.androidx.test.ext.junit)
    androidTestImplementation(libs.androidx.test.runner)
    androidTestImplementation(libs.androidx.test.core)
    androidTestImplementation(libs.androidx.test.rules)
}

// ---- native core: unpack pytorch_android_lite's C++ headers and .so files for CMake ----
// The AAR carries headers/ and jni/<abi>/*.so; the `implementation` dependency still packages the
// .so files into the APK, this copy only feeds app/src/main/cpp/CMakeLists.txt.
val extractForNativeBuild: Configuration by configurations.creating {
    isCanBeConsumed = false
    isCanBeResolved = true
}

dependencies {
    // "@aar": the AAR file itself, without variant selection.
    extractForNativeBuild("org.pytorch:pytorch_android_lite:2.1.0@aar")
}

fun CopySpec.pytorchNativeFiles() {
    from(extractForNativeBuild.elements.map { files -> files.map { zipTree(it.asFile) } }) {
        include("headers/**", "jni/**")
    }
}

// Android Studio's sync configures CMake from its IDE model builder (NativeModelBuilder ->
// ExternalNativeJsonGenerator) right after Gradle's configuration phase, without running any
// task: a task that unpacks the AAR would come too late for the first sync, and CMakeLists would
// find no headers. So the files are unpacked here, during configuration, once per checkout and
// version (the directory name carries the version); staged and renamed so an interrupted sync
// never leaves a half-filled directory that later runs would trust.
if (!pytorchNativeDir.isDirectory) {
    val staging = File(pytorchNativeDir.path + ".partial")
    delete(staging)
    copy {
        pytorchNativeFiles()
        into(staging)
    }
    if (!staging.renameTo(pytorchNativeDir)) {
        throw GradleException("cannot move $staging to $pytorchNativeDir")
    }
}

// The same files again for builds that start with `clean` (which deletes them after configuration).
val extractPytorchNative by tasks.registering(Sync::class) {
    pytorchNativeFiles()
    into(pytorchNativeDir)
}

tasks.configureEach {
    if (name.startsWith("configureCMake") || name.startsWith("buildCMake")) {
        dependsOn(extractPytorchNative)
    }
}
