import Foundation
import SyntheticData

/// SplitMix64: a small, fast, seedable generator; the harness's draws are reproducible from
/// the scenario's seeds alone.
package struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    package init(seed: UInt64) { state = seed }

    /// A generator for item `index` of a stream: independent of every other index, so any
    /// item's draws can be made without the ones before it.
    package init(seed: UInt64, stream: UInt64, index: Int) {
        state = SeededRandom.mix(seed ^ SeededRandom.mix(stream &+ SeededRandom.mix(UInt64(truncatingIfNeeded: index))))
    }

    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SeededRandom.mix(state)
    }

    /// Uniform in [0, 1), 53 bits.
    package mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    package static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

// MARK: - Arrivals

/// The intended start offsets of an open model, from the start of the load: a pure function of
/// the arrival model and the seed. Uploads are measured from these offsets (not from when they
/// actually started), so a stalled harness or pipeline shows up as latency instead of hiding.
///
/// - constant-arrival-rate: arrival k at k / rate (the first at 0), as k6.
/// - ramping-arrival-rate: the rate moves linearly within each stage (from the previous
///   target, or `startRate`, to the stage's target); arrival k is where the integral of the
///   rate reaches k. A flat stage is constant-arrival-rate; a stage ramping from 0 to r over T
///   starts r·T/2 uploads.
/// - poisson: exponential gaps with mean 1/rate (seeded); the first arrival after one gap.
///
/// The schedule ends at the model's duration, at `limit` (load.duration) or after `maxCount`
/// (dataset.files) arrivals, whichever comes first.
package struct ArrivalSchedule: Sequence, Sendable {
    package var arrival: Scenario.Load.Arrival
    package var seed: UInt64
    package var limit: Duration?
    package var maxCount: Int?

    package init(arrival: Scenario.Load.Arrival, seed: UInt64, limit: Duration? = nil, maxCount: Int? = nil) {
        self.arrival = arrival
        self.seed = seed
        self.limit = limit
        self.maxCount = maxCount
    }

    /// Where the schedule stops, in seconds (infinity when only the count bounds it).
    var endSeconds: Double {
        var end = Double.infinity
        switch arrival {
        case let .constant(_, duration), let .poisson(_, duration):
            if let duration { end = duration.secondsValue }
        case let .ramping(_, stages):
            end = stages.reduce(0) { $0 + $1.duration.secondsValue }
        }
        if let limit { end = Swift.min(end, limit.secondsValue) }
        return end
    }

    package func makeIterator() -> Iterator { Iterator(schedule: self) }

    package struct Iterator: IteratorProtocol, Sendable {
        let arrival: Scenario.Load.Arrival
        let end: Double
        let maxCount: Int
        var count = 0
        var random: SeededRandom
        var poissonTime = 0.0
        // Ramping: the current stage, the cumulative arrivals at its start and its start time.
        var stageIndex = 0
        var stageStartCumulative = 0.0
        var stageStartTime = 0.0
        var stageStartRate = 0.0

        init(schedule: ArrivalSchedule) {
            arrival = schedule.arrival
            end = schedule.endSeconds
            maxCount = schedule.maxCount ?? Int.max
            random = SeededRandom(seed: schedule.seed ^ 0xA881_7A15)
            if case let .ramping(start, _) = schedule.arrival { stageStartRate = start.perSecond }
        }

        package mutating func next() -> Duration? {
            guard count < maxCount, let seconds = nextSeconds(), seconds < end else { return nil }
            count += 1
            return .secondsValue(seconds)
        }

        mutating func nextSeconds() -> Double? {
            switch arrival {
            case let .constant(rate, _):
                return Double(count) / rate.perSecond
            case let .poisson(rate, _):
                poissonTime += -log(1 - random.unit()) / rate.perSecond
                return poissonTime
            case let .ramping(_, stages):
                let k = Double(count)
                while stageIndex < stages.count {
                    let stage = stages[stageIndex]
                    let length = stage.duration.secondsValue
                    let r0 = stageStartRate
                    let r1 = stage.target.perSecond
                    let stageArrivals = (r0 + r1) / 2 * length
                    let needed = k - stageStartCumulative
                    if needed < stageArrivals {
                        // C(τ) = r0 τ + (r1 − r0) τ² / (2 length) = needed, solved stably.
                        let a = (r1 - r0) / (2 * length)
                        let tau: Double
                        if needed <= 0 {
                            tau = 0
                        } else if abs(a) < 1e-15 {
                            tau = needed / r0
                        } else {
                            tau = 2 * needed / (r0 + Swift.max(0, r0 * r0 + 4 * a * needed).squareRoot())
                        }
                        return stageStartTime + Swift.min(tau, length)
                    }
                    stageStartCumulative += stageArrivals
                    stageStartTime += length
                    stageStartRate = r1
                    stageIndex += 1
                }
                return nil
            }
        }
    }
}

extension Scenario {
    /// The open model's schedule (nil for the closed model), bounded by load.duration and
    /// dataset.files, seeded from the dataset seed.
    package var arrivalSchedule: ArrivalSchedule? {
        guard case let .open(arrival) = load.model else { return nil }
        return ArrivalSchedule(arrival: arrival, seed: dataset.seed, limit: load.duration, maxCount: dataset.files)
    }
}

// MARK: - Sizes and files

/// Draws file sizes: size i is a pure function of (seed, i), so any file's size is known
/// without drawing the others. Log-normal uses ln(size) ~ Normal(mu, sigma) (Box–Muller),
/// clamped to [min, max] when given; every size is at least 1 byte.
package struct SizeSampler: Sendable {
    /// The standard normal's 90th percentile: sigma = ln(p90 / median) / z90.
    package static let z90 = 1.281_551_565_545

    package var distribution: Scenario.SizeDistribution
    package var seed: UInt64

    package init(distribution: Scenario.SizeDistribution, seed: UInt64) {
        self.distribution = distribution
        self.seed = seed
    }

    package func size(ofFile index: Int) -> Int {
        var random = SeededRandom(seed: seed, stream: 0x5123, index: index)
        switch distribution {
        case let .fixed(size):
            return max(1, size.bytes)
        case let .uniform(low, high):
            let span = UInt64(high.bytes - low.bytes) + 1
            let offset = span == 0 ? random.next() : UInt64(random.next().multipliedFullWidth(by: span).high)
            return max(1, low.bytes + Int(offset))
        case let .logNormal(mu, sigma, low, high):
            let u1 = 1 - random.unit()  // (0, 1]
            let u2 = random.unit()
            let z = (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
            var bytes = exp(mu + sigma * z)
            if let low { bytes = max(bytes, Double(low.bytes)) }
            if let high { bytes = min(bytes, Double(high.bytes)) }
            return max(1, Int(min(bytes, 9.0e18).rounded()))
        }
    }
}

/// One file of a scenario's dataset: everything needed to generate and upload it.
package struct PlannedFile: Sendable, Equatable {
    package var index: Int
    /// `<keyPrefix><index, 6 digits>.csv`.
    package var key: String
    /// The generator seed of this file (derived from the dataset seed and the index).
    package var seed: UInt64
    /// Requested bytes (generation stops at the first row boundary at or past it).
    package var size: Int
    /// The deliberate defect, or nil for a valid file.
    package var malformed: MalformedMode?
}

extension Scenario.Dataset {
    /// File `index` of the dataset. Malformed files are spread evenly with a seeded phase: any
    /// first n files hold n × malformedFraction of them, ±1; the mode is a seeded draw from
    /// malformedModes.
    package func plannedFile(_ index: Int) -> PlannedFile {
        let phase = SeededRandom(seed: seed, stream: 0x3A1F, index: 0).unitValue
        let malformed: MalformedMode?
        if malformedFraction > 0, !malformedModes.isEmpty,
           (Double(index + 1) * malformedFraction + phase).rounded(.down) > (Double(index) * malformedFraction + phase).rounded(.down) {
            var random = SeededRandom(seed: seed, stream: 0x3A20, index: index)
            malformed = malformedModes[Int(random.next() % UInt64(malformedModes.count))]
        } else {
            malformed = nil
        }
        let digits = String(index)
        let padded = String(repeating: "0", count: max(0, 6 - digits.count)) + digits
        return PlannedFile(
            index: index,
            key: keyPrefix + padded + ".csv",
            seed: SeededRandom(seed: seed, stream: 0xF11E, index: index).nextValue,
            size: SizeSampler(distribution: size, seed: seed).size(ofFile: index),
            malformed: malformed
        )
    }
}

extension SeededRandom {
    var unitValue: Double { var copy = self; return copy.unit() }
    var nextValue: UInt64 { var copy = self; return copy.next() }
}
