import Foundation
import SyntheticData

/// Set by SIGINT/SIGTERM; long loops poll it so that Ctrl-C ends a command cleanly.
final class InterruptFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var set = false
    private var sources: [any DispatchSourceSignal] = []

    var isSet: Bool {
        lock.lock()
        defer { lock.unlock() }
        return set
    }

    static func install() -> InterruptFlag {
        let flag = InterruptFlag()
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [flag] in
                flag.lock.lock()
                flag.set = true
                flag.lock.unlock()
            }
            source.resume()
            flag.sources.append(source)
        }
        return flag
    }
}

/// A one-line progress display on stderr (bytes, MB/s, ETA) for TTYs; silent otherwise.
final class ProgressLine: @unchecked Sendable {
    private let enabled: Bool
    private let total: Int?
    private let start = DispatchTime.now().uptimeNanoseconds
    private var lastDraw: UInt64 = 0
    private var drew = false

    init(enabled: Bool, total: Int?) {
        self.enabled = enabled
        self.total = total
    }

    func update(bytes: Int) {
        guard enabled else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        guard now - lastDraw > 100_000_000 else { return }
        lastDraw = now
        let seconds = Double(now - start) / 1e9
        let rate = seconds > 0 ? Double(bytes) / seconds : 0
        var line = "\r\u{1B}[K  \(ByteSize.format(bytes))"
        if let total, total > 0 {
            let percent = min(100, Int(Double(bytes) * 100 / Double(total)))
            line += " / \(ByteSize.format(total)) (\(percent)%)"
        }
        line += "  \(Int(rate / 1e6)) MB/s"
        if let total, rate > 0, total > bytes {
            line += "  ETA \(Int(Double(total - bytes) / rate))s"
        }
        FileHandle.standardError.write(Data(line.utf8))
        drew = true
    }

    func finish() {
        if drew { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
