import Foundation

/// Text in an image (a scanned letter, a photo of a prescription), whatever engine reads it.
package protocol TextRecognizer: Sendable {
    var engine: String { get }
    /// The languages it reads (the engine's own codes, e.g. Tesseract's `eng`).
    func languages() async throws -> [String]
    func recognize(_ image: [UInt8], language: String) async throws -> RecognizedText
}

package struct RecognizedText: Sendable, Equatable {
    package let text: String
    /// Mean word confidence, 0-100, when the engine gives one.
    package let confidence: Double?
    package let words: Int
    package let engine: String
    package init(text: String, confidence: Double?, words: Int, engine: String) {
        self.text = text
        self.confidence = confidence
        self.words = words
        self.engine = engine
    }
}

/// The image formats accepted, by their first bytes (the declared type is not trusted).
package enum ImageFormat: String, Sendable {
    case png, jpeg, tiff, bmp, pnm

    package var contentType: String {
        switch self {
        case .png: "image/png"
        case .jpeg: "image/jpeg"
        case .tiff: "image/tiff"
        case .bmp: "image/bmp"
        case .pnm: "image/x-portable-anymap"
        }
    }

    package init?(sniffing bytes: [UInt8]) {
        if bytes.has([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            self = .png
        } else if bytes.has([0xFF, 0xD8, 0xFF]) {
            self = .jpeg
        } else if bytes.has([0x49, 0x49, 0x2A, 0x00]) || bytes.has([0x4D, 0x4D, 0x00, 0x2A]) {
            self = .tiff
        } else if bytes.has([0x42, 0x4D]) {
            self = .bmp
        } else if bytes.count > 2, bytes[0] == 0x50, (0x31...0x36).contains(bytes[1]) {
            self = .pnm
        } else {
            return nil
        }
    }
}

extension ImageFormat {
    /// The most pixels read in one image: an A4 page scanned at 600 dpi is 35 million. A small
    /// file can declare far more (30000 × 30000 took Tesseract 8 s and 1 GB).
    package static let maximumPixels = 50_000_000

    /// Width and height as the file's header declares them (PNG, JPEG, BMP; nil for the rest,
    /// which Tesseract's own limits hold).
    package static func dimensions(of bytes: [UInt8]) -> (width: Int, height: Int)? {
        func be(_ at: Int, _ n: Int) -> Int { (0..<n).reduce(0) { $0 << 8 | Int(bytes[at + $1]) } }
        func le(_ at: Int, _ n: Int) -> Int { (0..<n).reversed().reduce(0) { $0 << 8 | Int(bytes[at + $1]) } }
        switch ImageFormat(sniffing: bytes) {
        case .png where bytes.count >= 24:
            return (be(16, 4), be(20, 4))
        case .bmp where bytes.count >= 26:
            return (le(18, 4), abs(Int(Int32(truncatingIfNeeded: le(22, 4)))))
        case .jpeg:
            // the markers up to the first start-of-frame, which holds the size
            var at = 2
            while at + 9 < bytes.count, bytes[at] == 0xFF {
                let marker = bytes[at + 1]
                if (0xC0...0xCF).contains(marker), ![0xC4, 0xC8, 0xCC].contains(marker) { return (be(at + 7, 2), be(at + 5, 2)) }
                at += 2 + be(at + 2, 2)
            }
            return nil
        default:
            return nil
        }
    }
}

/// Tesseract 5 (Debian `tesseract-ocr`, plus `tesseract-ocr-<lang>` for more languages), one
/// thread per run (`OMP_THREAD_LIMIT=1`: on two cores its own threads only slow it down). The
/// image goes in on standard input; the TSV output gives the words, their lines and confidences.
package struct TesseractRecognizer: TextRecognizer {
    package let engine = "tesseract"
    let timeout: Duration
    private let installed = Cached<[String]>()

    package init(timeout: Duration = .seconds(60)) { self.timeout = timeout }

    static let install = "install the Debian package tesseract-ocr (scripts/run does)"

    package func languages() async throws -> [String] {
        try await installed.value {
            let out = try await EngineProcess(program: "tesseract", arguments: ["--list-langs"], engine: engine, install: Self.install)
                .run(input: [], timeout: timeout, outputLimit: 1 << 16)
            // The first line names the folder; "osd" is orientation detection, not a language.
            return String(decoding: out, as: UTF8.self).split(whereSeparator: \.isNewline).dropFirst().map(String.init).filter { $0 != "osd" }
        }
    }

    package func recognize(_ image: [UInt8], language: String) async throws -> RecognizedText {
        guard ImageFormat(sniffing: image) != nil else {
            throw EngineError.invalid("The image is not PNG, JPEG, TIFF, BMP or PNM")
        }
        if let (width, height) = ImageFormat.dimensions(of: image), width * height > ImageFormat.maximumPixels {
            throw EngineError.tooLarge("The image is \(width) × \(height) pixels; the most read at once is \(ImageFormat.maximumPixels / 1_000_000) million")
        }
        guard try await languages().contains(language) else {
            throw EngineError.invalid("Text recognition does not read \"\(language.prefix(20))\" here; it reads: \(try await languages().joined(separator: ", "))")
        }
        let out: [UInt8]
        do {
            out = try await EngineProcess(
                program: "tesseract", arguments: ["stdin", "stdout", "-l", language, "tsv"], environment: ["OMP_THREAD_LIMIT": "1"], engine: engine,
                install: Self.install
            ).run(input: image, timeout: timeout, outputLimit: 16 << 20)
        } catch EngineError.failed {
            // It starts like an image but Tesseract cannot decode it: the upload is at fault.
            throw EngineError.invalid("The image could not be read: it may be damaged or cut short")
        }
        return Self.parseTSV(String(decoding: out, as: UTF8.self), engine: engine)
    }

    /// Tesseract's TSV (`level page block par line word left top width height conf text`):
    /// words joined by spaces within a line, lines by newlines, paragraphs by a blank line.
    static func parseTSV(_ tsv: String, engine: String) -> RecognizedText {
        var lines: [String] = []
        var current: (block: Int, par: Int, line: Int)?
        var words: [String] = []
        var confidences: [Double] = []
        var previousParagraph: (Int, Int)?
        func endLine() {
            if !words.isEmpty { lines.append(words.joined(separator: " ")) }
            words = []
        }
        for row in tsv.split(separator: "\n", omittingEmptySubsequences: true).dropFirst() {
            let f = row.split(separator: "\t", omittingEmptySubsequences: false)
            guard f.count >= 12, f[0] == "5", let block = Int(f[2]), let par = Int(f[3]), let line = Int(f[4]), let conf = Double(f[10]) else { continue }
            let word = f[11...].joined(separator: "\t").trimmingCharacters(in: .whitespaces)
            guard !word.isEmpty else { continue }
            if current == nil || current! != (block, par, line) {
                endLine()
                if let p = previousParagraph, p != (block, par), !lines.isEmpty { lines.append("") }
                current = (block, par, line)
                previousParagraph = (block, par)
            }
            words.append(word)
            if conf >= 0 { confidences.append(conf) }
        }
        endLine()
        let mean = confidences.isEmpty ? nil : (confidences.reduce(0, +) / Double(confidences.count) * 10).rounded() / 10
        return RecognizedText(text: lines.joined(separator: "\n"), confidence: mean, words: confidences.count, engine: engine)
    }
}
