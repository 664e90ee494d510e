/// Live counters of one or more uploads, for a progress display; updated by the engine,
/// read (polled) by whoever draws. Cheap: one lock per part.
package final class UploadProgress: Sendable {
    package struct Snapshot: Sendable, Hashable {
        /// Bytes read from the source (handed to part uploads).
        package var bytesRead = 0
        /// Bytes of parts the server acknowledged.
        package var bytesUploaded = 0
        package var partsUploaded = 0
        /// Part attempts after the first.
        package var partRetries = 0
        /// The planned length, once known (exact for files, an upper bound for generated data).
        package var expectedBytes: Int?

        package init() {}
    }

    private let state = Locked(Snapshot())

    package init() {}

    package var snapshot: Snapshot { self.state.current }

    func planned(bytes: Int) {
        self.state.withLock { $0.expectedBytes = ($0.expectedBytes ?? 0) + bytes }
    }

    func read(_ bytes: Int) {
        self.state.withLock { $0.bytesRead += bytes }
    }

    func uploaded(_ bytes: Int, retries: Int) {
        self.state.withLock {
            $0.bytesUploaded += bytes
            $0.partsUploaded += 1
            $0.partRetries += retries
        }
    }
}
