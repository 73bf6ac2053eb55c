// JNI glue between com.example.zebra_ify.NativeCore and the shared inference core. Plain JNI (no fbjni)
// so the same file also builds on the host against the JDK's jni.h for `scaffold check`.
// The exported names are Java_com_example_zebra_1ify_NativeCore_<method>: the package is JNI-mangled by the
// generator (generator/native.py: jni_prefix), never by hand.
#include <jni.h>

#include <cstdint>
#include <exception>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "inference_core.h"

namespace {

struct Session {
  explicit Session(const std::string& path) : core(path) {}
  scaffold::InferenceCore core;
  // NativeCore.run fetches the shape in a second call; both happen under the Java lock.
  std::vector<int64_t> lastShape;
};

// Exception messages may hold non-ASCII file names. ThrowNew wants modified UTF-8, so build the
// message as UTF-16 ourselves; invalid bytes become U+FFFD instead of aborting under CheckJNI.
std::u16string utf8ToUtf16(const std::string& text) {
  std::u16string out;
  size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    uint32_t code = 0xFFFD;
    size_t length = 1;
    if (lead < 0x80) {
      code = lead;
    } else if ((lead >> 5) == 0x6) {
      length = 2;
      code = lead & 0x1F;
    } else if ((lead >> 4) == 0xE) {
      length = 3;
      code = lead & 0x0F;
    } else if ((lead >> 3) == 0x1E) {
      length = 4;
      code = lead & 0x07;
    } else {
      length = 0;
    }
    bool valid = length > 0 && i + length <= text.size();
    for (size_t k = 1; valid && k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next >> 6) != 0x2) {
        valid = false;
      } else {
        code = (code << 6) | (next & 0x3F);
      }
    }
    if (!valid) {
      code = 0xFFFD;
      length = 1;
    }
    if (code >= 0x10000 && code <= 0x10FFFF) {
      code -= 0x10000;
      out.push_back(static_cast<char16_t>(0xD800 + (code >> 10)));
      out.push_back(static_cast<char16_t>(0xDC00 + (code & 0x3FF)));
    } else if (code > 0x10FFFF) {
      out.push_back(u'\uFFFD');
    } else {
      out.push_back(static_cast<char16_t>(code));
    }
    i += length;
  }
  return out;
}

void throwJava(JNIEnv* env, const char* className, const std::string& message) {
  if (env->ExceptionCheck()) return;  // keep the first failure, e.g. an OutOfMemoryError
  jclass type = env->FindClass(className);
  if (type == nullptr) return;
  jmethodID init = env->GetMethodID(type, "<init>", "(Ljava/lang/String;)V");
  const std::u16string utf16 = utf8ToUtf16(message);
  jstring text = env->NewString(reinterpret_cast<const jchar*>(utf16.data()),
                                static_cast<jsize>(utf16.size()));
  if (init == nullptr || text == nullptr) return;
  auto* error = static_cast<jthrowable>(env->NewObject(type, init, text));
  if (error != nullptr) env->Throw(error);
}

// Must be called from inside a catch block: C++ exceptions may not cross into the JVM.
void rethrowAsJava(JNIEnv* env) {
  try {
    throw;
  } catch (const std::invalid_argument& e) {
    throwJava(env, "java/lang/IllegalArgumentException", e.what());
  } catch (const std::bad_alloc&) {
    throwJava(env, "java/lang/OutOfMemoryError", "out of native memory in the inference core");
  } catch (const std::exception& e) {
    throwJava(env, "java/lang/RuntimeException", e.what());
  } catch (...) {
    throwJava(env, "java/lang/RuntimeException", "unknown native error in the inference core");
  }
}

Session* sessionOf(JNIEnv* env, jlong handle) {
  if (handle == 0) {
    throwJava(env, "java/lang/IllegalStateException", "NativeCore is closed");
    return nullptr;
  }
  return reinterpret_cast<Session*>(handle);
}

std::string utf8FromBytes(JNIEnv* env, jbyteArray bytes) {
  const jsize length = env->GetArrayLength(bytes);
  std::string text(static_cast<size_t>(length), '\0');
  if (length > 0) env->GetByteArrayRegion(bytes, 0, length, reinterpret_cast<jbyte*>(&text[0]));
  return text;
}

std::vector<int64_t> longsOf(JNIEnv* env, jlongArray array) {
  std::vector<jlong> values(static_cast<size_t>(env->GetArrayLength(array)));
  if (!values.empty()) {
    env->GetLongArrayRegion(array, 0, static_cast<jsize>(values.size()), values.data());
  }
  return std::vector<int64_t>(values.begin(), values.end());
}

std::vector<float> floatsOf(JNIEnv* env, jfloatArray array) {
  std::vector<float> values(static_cast<size_t>(env->GetArrayLength(array)));
  if (!values.empty()) {
    env->GetFloatArrayRegion(array, 0, static_cast<jsize>(values.size()), values.data());
  }
  return values;
}

// nativeRun and nativeRunInt64: the input array through the core's run or runInt64.
template <typename JArray, typename Run>
jfloatArray runCore(JNIEnv* env, jlong handle, JArray input, jlongArray shape, Run run) {
  Session* session = sessionOf(env, handle);
  if (session == nullptr) return nullptr;
  if (input == nullptr || shape == nullptr) {
    throwJava(env, "java/lang/IllegalArgumentException", "input and shape must not be null");
    return nullptr;
  }
  try {
    std::vector<int64_t> outputShape;
    const std::vector<float> output = run(session->core, longsOf(env, shape), outputShape);
    if (output.size() > static_cast<size_t>(INT32_MAX)) {
      throw scaffold::CoreError("the model's output is too large for a Java array");
    }
    jfloatArray result = env->NewFloatArray(static_cast<jsize>(output.size()));
    if (result == nullptr) return nullptr;  // OutOfMemoryError is pending
    env->SetFloatArrayRegion(result, 0, static_cast<jsize>(output.size()), output.data());
    session->lastShape = outputShape;
    return result;
  } catch (...) {
    rethrowAsJava(env);
    return nullptr;
  }
}

}  // namespace

extern "C" JNIEXPORT jlong JNICALL Java_com_example_zebra_1ify_NativeCore_nativeLoad(JNIEnv* env, jclass,
                                                                 jbyteArray utf8Path) {
  if (utf8Path == nullptr) {
    throwJava(env, "java/lang/IllegalArgumentException", "model path must not be null");
    return 0;
  }
  try {
    return reinterpret_cast<jlong>(new Session(utf8FromBytes(env, utf8Path)));
  } catch (...) {
    rethrowAsJava(env);
    return 0;
  }
}

extern "C" JNIEXPORT jfloatArray JNICALL Java_com_example_zebra_1ify_NativeCore_nativeRun(JNIEnv* env, jclass,
                                                                      jlong handle,
                                                                      jfloatArray input,
                                                                      jlongArray shape) {
  return runCore(env, handle, input, shape,
                 [&](scaffold::InferenceCore& core, const std::vector<int64_t>& dims,
                     std::vector<int64_t>& outputShape) {
                   return core.run(floatsOf(env, input), dims, outputShape);
                 });
}

extern "C" JNIEXPORT jfloatArray JNICALL Java_com_example_zebra_1ify_NativeCore_nativeRunInt64(JNIEnv* env, jclass,
                                                                           jlong handle,
                                                                           jlongArray input,
                                                                           jlongArray shape) {
  return runCore(env, handle, input, shape,
                 [&](scaffold::InferenceCore& core, const std::vector<int64_t>& dims,
                     std::vector<int64_t>& outputShape) {
                   return core.runInt64(longsOf(env, input), dims, outputShape);
                 });
}

extern "C" JNIEXPORT jlongArray JNICALL Java_com_example_zebra_1ify_NativeCore_nativeOutputShape(JNIEnv* env, jclass,
                                                                             jlong handle) {
  Session* session = sessionOf(env, handle);
  if (session == nullptr) return nullptr;
  const std::vector<jlong> dims(session->lastShape.begin(), session->lastShape.end());
  jlongArray result = env->NewLongArray(static_cast<jsize>(dims.size()));
  if (result != nullptr && !dims.empty()) {
    env->SetLongArrayRegion(result, 0, static_cast<jsize>(dims.size()), dims.data());
  }
  return result;
}

extern "C" JNIEXPORT jbyteArray JNICALL Java_com_example_zebra_1ify_NativeCore_nativeMetadata(JNIEnv* env, jclass,
                                                                          jlong handle) {
  Session* session = sessionOf(env, handle);
  if (session == nullptr) return nullptr;
  const std::string& metadata = session->core.metadata();
  jbyteArray result = env->NewByteArray(static_cast<jsize>(metadata.size()));
  if (result != nullptr && !metadata.empty()) {
    env->SetByteArrayRegion(result, 0, static_cast<jsize>(metadata.size()),
                            reinterpret_cast<const jbyte*>(metadata.data()));
  }
  return result;
}

extern "C" JNIEXPORT void JNICALL Java_com_example_zebra_1ify_NativeCore_nativeClose(JNIEnv*, jclass, jlong handle) {
  delete reinterpret_cast<Session*>(handle);
}
