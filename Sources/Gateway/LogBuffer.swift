import Foundation
import Glibc
import Synchronization

/// Standard error, written in batches: lines are gathered and written every 50 ms (or at
/// 64 KB) by one background thread, instead of one `write` per request. Warnings and above are
/// written at once with everything before them, in order, and the buffer is flushed when the
/// process exits normally. The trade: a crash can lose the last 50 ms of info lines (the
/// access log) — never an audit record, which is in the database before any answer leaves.
package final class LogBuffer: Sendable {
    package static let standardError = LogBuffer(fd: 2)

    let fd: Int32
    private let pending = Mutex<[UInt8]>([])
    /// Held while a batch is taken and written, so batches reach the file in order.
    private let writing = Mutex<Void>(())

    init(fd: Int32) {
        self.fd = fd
        let thread = Thread { [self] in
            while true {
                Thread.sleep(forTimeInterval: 0.05)
                flush()
            }
        }
        thread.name = "healthhub-log-writer"
        thread.start()
        atexit { LogBuffer.standardError.flush() }
    }

    package func append(_ line: String) {
        let full = pending.withLock { buffer in
            buffer.append(contentsOf: line.utf8)
            buffer.append(0x0A)
            return buffer.count >= 64 << 10
        }
        if full { flush() }
    }

    package func flush() {
        writing.withLock { _ in
            let bytes = pending.withLock { buffer in
                defer { buffer.removeAll(keepingCapacity: true) }
                return buffer
            }
            var offset = 0
            while offset < bytes.count {
                let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
                if n <= 0 { if errno == EINTR { continue } else { return } }
                offset += n
            }
        }
    }
}
