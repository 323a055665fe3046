import Foundation
import Testing

/// HTML snapshot tests: a rendering is compared with the committed file
/// `Tests/<Target>/Snapshots/<name>.html` beside the test file. A missing file, or a run with
/// `HEALTHHUB_RECORD_SNAPSHOTS=1`, writes the file and fails the test, so a new or changed
/// snapshot is always looked at and committed on purpose.
package enum Snapshot {
    package static func expect(_ rendered: String, named name: String, filePath: String = #filePath, sourceLocation: SourceLocation = #_sourceLocation) {
        let folder = URL(fileURLWithPath: filePath).deletingLastPathComponent().appendingPathComponent("Snapshots")
        let file = folder.appendingPathComponent("\(name).html")
        let recording = ProcessInfo.processInfo.environment["HEALTHHUB_RECORD_SNAPSHOTS"] == "1"
        guard !recording, let stored = try? String(contentsOf: file, encoding: .utf8) else {
            try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try? Data(rendered.utf8).write(to: file)
            Issue.record("snapshot \(name) recorded at \(file.path); check it and run again", sourceLocation: sourceLocation)
            return
        }
        #expect(rendered == stored, "snapshot \(name) differs from \(file.path) (HEALTHHUB_RECORD_SNAPSHOTS=1 records it anew)", sourceLocation: sourceLocation)
    }
}
