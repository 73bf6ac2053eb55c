import SwiftUI

@main
struct ZebraIfyApp: App {
    var body: some Scene {
        WindowGroup {
            ContentView()
        }
    }
}
