/// Counter-based randomness for decisions: a pure function of (seed, fault index, request
/// counter, salt), so the same plan and the same sequence of requests give the same decisions
/// whatever the thread interleaving between faults.
enum FaultRandom {
    /// SplitMix64's finalizer.
    @inline(__always)
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    static func bits(seed: UInt64, fault: Int, counter: UInt64, salt: UInt64) -> UInt64 {
        mix(mix(mix(seed ^ 0x6661_756C_7473) ^ UInt64(truncatingIfNeeded: fault)) ^ (counter &* 0xD6E8_FEB8_6659_FD93) ^ (salt << 56))
    }

    /// Uniform in [0, 1).
    static func unit(seed: UInt64, fault: Int, counter: UInt64, salt: UInt64) -> Double {
        Double(bits(seed: seed, fault: fault, counter: counter, salt: salt) >> 11) * 0x1.0p-53
    }
}
