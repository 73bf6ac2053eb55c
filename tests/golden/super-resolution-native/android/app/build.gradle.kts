plugins {
    alias(libs.plugins.android.application)
}

// Checked because the value is pasted into BuildConfig.java as a boolean literal: anything else
// would surface as a confusing Java compile error.
val useVulkan = providers.gradleProperty("scaffold.useVulkan").getOrElse("false").trim()
require(useVulkan == "true" || useVulkan == "false") {
    "scaffold.useVulkan in gradle.properties must be true or false, got '$useVulkan'"
}

android {
    namespace = "com.example.zebra_ify"
    compileSdk = 35

    defaultConfig {
        applicationId = "com.example.zebra_ify"
        minSdk = 24
        targetSdk = 35
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
                    "-DPYTORCH_NATIVE_DIR=" + layout.buildDirectory.dir("pytorch_native").get().asFile.absolutePath,
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
            // Our CMake build and the AAR both ship libc++_shared.so for every ABI.
            pickFirsts += "**/libc++_shared.so"
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

val extractPytorchNative by tasks.registering(Sync::class) {
    from(extractForNativeBuild.elements.map { files -> files.map { zipTree(it.asFile) } }) {
        include("headers/**", "jni/**")
    }
    into(layout.buildDirectory.dir("pytorch_native"))
}

tasks.configureEach {
    if (name.startsWith("configureCMake") || name.startsWith("buildCMake")) {
        dependsOn(extractPytorchNative)
    }
}
