#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The harness's own cost, so a report can show that observing did not distort the run.
package struct HarnessUsage: Sendable, Equatable, Codable {
    /// User + system CPU of this process.
    package var cpuSeconds: Double
    /// Peak resident set size of this process.
    package var peakRSSBytes: Int

    package init(cpuSeconds: Double, peakRSSBytes: Int) {
        self.cpuSeconds = cpuSeconds
        self.peakRSSBytes = peakRSSBytes
    }

    /// This process now (getrusage).
    package static func current() -> HarnessUsage {
        var usage = rusage()
        #if canImport(Glibc)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        let cpu = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        #if canImport(Darwin)
        let rss = Int(usage.ru_maxrss)  // bytes on Darwin
        #else
        let rss = Int(usage.ru_maxrss) * 1024  // KiB on Linux
        #endif
        return HarnessUsage(cpuSeconds: cpu, peakRSSBytes: rss)
    }

    /// The CPU used between two readings (peak RSS is the later reading's).
    package func since(_ earlier: HarnessUsage) -> HarnessUsage {
        HarnessUsage(cpuSeconds: cpuSeconds - earlier.cpuSeconds, peakRSSBytes: peakRSSBytes)
    }
}
