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
