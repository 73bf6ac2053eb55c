import PhotosUI
import SwiftUI

struct ContentView: View {
    @StateObject private var model = InferenceViewModel()
    @State private var pickerItem: PhotosPickerItem?
    @State private var showCamera = false

    var body: some View {
        NavigationStack {
            ScrollView {
                VStack(spacing: 16) {
                    sourceButtons
                    if let input = model.input {
                        Image(uiImage: input)
                            .resizable()
                            .scaledToFit()
                            .frame(maxHeight: 260)
                            .accessibilityLabel("Input picture")
                    }
                    if model.isRunning {
                        ProgressView("Running the model")
                    }
                    if let prediction = model.prediction {
                        result(prediction)
                        Text(String(format: "Inference: %.1f ms (%@)", prediction.milliseconds, prediction.usedGPU ? "GPU" : "CPU"))
                            .font(.footnote)
                            .foregroundStyle(.secondary)
                    }
                    if let message = model.errorMessage {
                        Text(message)
                            .foregroundStyle(.red)
                    }
                }
                .padding()
            }
            .navigationTitle(Text(verbatim: "Zebra Ify"))
        }
        // .task(id:) (iOS 15+) rather than .onChange(of:): the one-parameter onChange closure is
        // deprecated from iOS 17 and the zero- and two-parameter forms need iOS 17, while the app
        // targets iOS 16. The task also runs on appear (no selection yet) and is cancelled when a
        // newer pick replaces the selection.
        .task(id: pickerItem) {
            await load(pickerItem)
        }
        .sheet(isPresented: $showCamera) {
            CameraPicker(isPresented: $showCamera) { image in model.run(on: image) }
                .ignoresSafeArea()
        }
    }

    // On the main actor: the view model publishes UI state.
    @MainActor
    private func load(_ item: PhotosPickerItem?) async {
        guard let item = item else { return }
        let data = try? await item.loadTransferable(type: Data.self)
        // A newer pick cancelled this load; that one reports its own result.
        if Task.isCancelled { return }
        if let data = data, let image = UIImage(data: data) {
            model.run(on: image)
        } else {
            model.errorMessage = "The selected picture could not be loaded"
        }
    }

    private var sourceButtons: some View {
        HStack(spacing: 12) {
            PhotosPicker(selection: $pickerItem, matching: .images) {
                Label("Photos", systemImage: "photo.on.rectangle")
            }
            Button {
                showCamera = true
            } label: {
                Label("Camera", systemImage: "camera")
            }
            .disabled(!CameraPicker.isAvailable)
            Button {
                model.runSample()
            } label: {
                Label("Sample", systemImage: "photo")
            }
        }
        .buttonStyle(.bordered)
        .disabled(model.isRunning)
    }

    @ViewBuilder
    private func result(_ prediction: Prediction) -> some View {
        VStack(alignment: .leading, spacing: 6) {
            ForEach(prediction.top) { score in
                HStack {
                    Text(score.label)
                    Spacer()
                    Text(String(format: "%.1f %%", score.probability * 100))
                        .monospacedDigit()
                }
            }
        }
    }
}

/// UIKit's camera picker for SwiftUI (PhotosPicker has no camera).
struct CameraPicker: UIViewControllerRepresentable {
    static var isAvailable: Bool { UIImagePickerController.isSourceTypeAvailable(.camera) }

    // A binding rather than the dismiss environment value: the coordinator calls back from
    // UIKit, outside any SwiftUI update, where environment values are not reliably installed.
    @Binding var isPresented: Bool
    let onImage: (UIImage) -> Void

    func makeCoordinator() -> Coordinator {
        Coordinator(self)
    }

    func makeUIViewController(context: Context) -> UIImagePickerController {
        let picker = UIImagePickerController()
        picker.sourceType = .camera
        picker.delegate = context.coordinator
        return picker
    }

    func updateUIViewController(_ uiViewController: UIImagePickerController, context: Context) {
        context.coordinator.parent = self
    }

    final class Coordinator: NSObject, UIImagePickerControllerDelegate, UINavigationControllerDelegate {
        var parent: CameraPicker

        init(_ parent: CameraPicker) {
            self.parent = parent
        }

        func imagePickerController(_ picker: UIImagePickerController,
                                   didFinishPickingMediaWithInfo info: [UIImagePickerController.InfoKey: Any]) {
            if let image = info[.originalImage] as? UIImage {
                parent.onImage(image)
            }
            parent.isPresented = false
        }

        func imagePickerControllerDidCancel(_ picker: UIImagePickerController) {
            parent.isPresented = false
        }
    }
}
