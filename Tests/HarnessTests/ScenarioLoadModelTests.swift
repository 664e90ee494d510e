import Foundation
import SyntheticData
import Testing

@testable import Harness

@Suite("Load models: arrival schedules, size sampler, file plan")
struct ScenarioLoadModelTests {
    func offsets(_ arrival: Scenario.Load.Arrival, seed: UInt64 = 1, limit: Duration? = nil, maxCount: Int? = nil) -> [Double] {
        ArrivalSchedule(arrival: arrival, seed: seed, limit: limit, maxCount: maxCount).map(\.secondsValue)
    }

    @Test func constantRateIsEvenlySpacedFromZero() {
        let times = offsets(.constant(rate: .init(perSecond: 5), duration: .seconds(10)))
        #expect(times.count == 50)
        for (k, t) in times.enumerated() { #expect(abs(t - Double(k) * 0.2) < 1e-9) }
        #expect(offsets(.constant(rate: .init(perSecond: 5), duration: .seconds(10)), maxCount: 7).count == 7)
        #expect(offsets(.constant(rate: .init(perSecond: 5), duration: .seconds(10)), limit: .seconds(2)).count == 10)
        // Unbounded duration: the file count ends it.
        #expect(offsets(.constant(rate: .init(perSecond: 1000), duration: nil), maxCount: 1234).count == 1234)
    }

    @Test func rampingInterpolatesLinearlyLikeK6() {
        // 0 → 10/s over 10 s: r(t) = t, so arrival k is at sqrt(2k), 50 in all.
        let ramp = offsets(.ramping(startRate: .init(perSecond: 0), stages: [.init(target: .init(perSecond: 10), duration: .seconds(10))]))
        #expect(ramp.count == 50)
        for (k, t) in ramp.enumerated() { #expect(abs(t - (2 * Double(k)).squareRoot()) < 1e-6, "arrival \(k) at \(t)") }
        // Up, hold, down: 50 + 100 + 50 arrivals, nondecreasing, inside 30 s, with the flat
        // stage's arrivals exactly 0.1 s apart.
        let shape = offsets(.ramping(startRate: .init(perSecond: 0), stages: [
            .init(target: .init(perSecond: 10), duration: .seconds(10)),
            .init(target: .init(perSecond: 10), duration: .seconds(10)),
            .init(target: .init(perSecond: 0), duration: .seconds(10)),
        ]))
        #expect(shape.count == 200)
        #expect(zip(shape, shape.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(shape.last! < 30)
        let flat = shape.filter { $0 >= 10 && $0 < 20 }
        #expect(flat.count == 100)
        for (a, b) in zip(flat, flat.dropFirst()) { #expect(abs((b - a) - 0.1) < 1e-9) }
        // A flat start rate is constant-arrival-rate.
        let steady = offsets(.ramping(startRate: .init(perSecond: 4), stages: [.init(target: .init(perSecond: 4), duration: .seconds(5))]))
        #expect(steady == offsets(.constant(rate: .init(perSecond: 4), duration: .seconds(5))))
        // A pause stage (0 → 0) starts nothing and shifts what follows.
        let paused = offsets(.ramping(startRate: .init(perSecond: 0), stages: [
            .init(target: .init(perSecond: 0), duration: .seconds(5)),
            .init(target: .init(perSecond: 2), duration: .seconds(2)),
        ]))
        #expect(paused.count == 2)
        #expect(paused.allSatisfy { $0 >= 5 })
    }

    @Test func poissonCountsAndGapsMatchTheRate() {
        let times = offsets(.poisson(rate: .init(perSecond: 100), duration: .seconds(100)), seed: 42)
        // Expected 10,000, standard deviation 100: within 4σ.
        #expect(abs(times.count - 10_000) < 400, "\(times.count) arrivals")
        let gaps = zip(times, times.dropFirst()).map { $1 - $0 }
        let mean = gaps.reduce(0, +) / Double(gaps.count)
        let variance = gaps.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(gaps.count)
        #expect(abs(mean - 0.01) < 0.0005, "mean gap \(mean)")
        // Exponential: the standard deviation equals the mean.
        #expect(abs(variance.squareRoot() / mean - 1) < 0.05)
        // Seeded: the same seed gives the same schedule, another seed another one.
        #expect(times == offsets(.poisson(rate: .init(perSecond: 100), duration: .seconds(100)), seed: 42))
        #expect(times != offsets(.poisson(rate: .init(perSecond: 100), duration: .seconds(100)), seed: 43))
    }

    @Test func scenarioScheduleUsesFilesAndLoadDuration() throws {
        let scenario = try Scenario.parse(yaml: """
            name: s
            dataset: { schema: a.yaml, files: 30, size: 1KiB }
            load: { arrival: { executor: constant-arrival-rate, rate: 10/s } }
            """, file: "s.yaml")
        #expect(scenario.arrivalSchedule.map { Array($0).count } == 30)
        let closed = try Scenario.parse(yaml: "name: c\ndataset: { schema: a.yaml, files: 3, size: 1KiB }\nload: { concurrency: 2 }", file: "c.yaml")
        #expect(closed.arrivalSchedule == nil)
    }

    @Test func sizeSamplerDistributions() {
        let fixed = SizeSampler(distribution: .fixed(ByteSize(bytes: 65_536)), seed: 1)
        #expect((0..<100).allSatisfy { fixed.size(ofFile: $0) == 65_536 })

        let uniform = SizeSampler(distribution: .uniform(min: ByteSize(bytes: 1000), max: ByteSize(bytes: 2000)), seed: 3)
        let uniformSizes = (0..<20_000).map { uniform.size(ofFile: $0) }
        #expect(uniformSizes.allSatisfy { (1000...2000).contains($0) })
        let uniformMean = Double(uniformSizes.reduce(0, +)) / Double(uniformSizes.count)
        #expect(abs(uniformMean - 1500) < 10, "mean \(uniformMean)")
        #expect(uniformSizes.contains(1000) && uniformSizes.contains(2000))

        // median 64 MiB, p90 512 MiB: the empirical quantiles land near them.
        let median = 64.0 * 1_048_576
        let sigma = log(8.0) / SizeSampler.z90
        let logNormal = SizeSampler(distribution: .logNormal(mu: log(median), sigma: sigma, min: nil, max: nil), seed: 7)
        let sorted = (0..<20_000).map { Double(logNormal.size(ofFile: $0)) }.sorted()
        #expect(abs(sorted[10_000] / median - 1) < 0.05, "median \(sorted[10_000])")
        #expect(abs(sorted[18_000] / (8 * median) - 1) < 0.08, "p90 \(sorted[18_000])")

        let clamped = SizeSampler(distribution: .logNormal(mu: log(median), sigma: 2, min: ByteSize(bytes: 1 << 20), max: ByteSize(bytes: 2 << 30)), seed: 7)
        let clampedSizes = (0..<5000).map { clamped.size(ofFile: $0) }
        #expect(clampedSizes.allSatisfy { (1 << 20...2 << 30).contains($0) })
        #expect(clampedSizes.contains(1 << 20) && clampedSizes.contains(2 << 30))
        // Pure per index and seeded: a fresh sampler gives file 1234 the same size; another seed other sizes.
        #expect(SizeSampler(distribution: .logNormal(mu: log(median), sigma: sigma, min: nil, max: nil), seed: 7).size(ofFile: 1234) == logNormal.size(ofFile: 1234))
        let otherSeed = SizeSampler(distribution: .uniform(min: ByteSize(bytes: 1000), max: ByteSize(bytes: 2000)), seed: 4)
        #expect((0..<100).map { otherSeed.size(ofFile: $0) } != Array(uniformSizes.prefix(100)))
    }

    @Test func filePlanSpreadsMalformedFilesExactly() {
        let dataset = Scenario.Dataset(schema: "s.yaml", seed: 11, files: 1000, size: .fixed(ByteSize(bytes: 100)), malformedFraction: 0.1, malformedModes: [.emptyFile, .invalidUTF8])
        let files = (0..<1000).map { dataset.plannedFile($0) }
        let malformed = files.filter { $0.malformed != nil }
        #expect(malformed.count == 100)
        // Every prefix holds its share ±1.
        for n in stride(from: 10, through: 1000, by: 10) {
            let count = files.prefix(n).filter { $0.malformed != nil }.count
            #expect(abs(Double(count) - Double(n) * 0.1) <= 1, "first \(n): \(count)")
        }
        #expect(Set(malformed.compactMap(\.malformed)) == [.emptyFile, .invalidUTF8])
        #expect(files[7].key == "in/000007.csv")
        #expect(Set(files.map(\.seed)).count == 1000)
        #expect(dataset.plannedFile(123) == files[123])
        let clean = Scenario.Dataset(schema: "s.yaml", seed: 11, size: .fixed(ByteSize(bytes: 100)))
        #expect((0..<500).allSatisfy { clean.plannedFile($0).malformed == nil })
    }
}
