/// Counter-based randomness: every value is a pure function of (seed, row, column),
/// so any row can be produced on its own, in any order, on any thread.
///
/// The mixing function is SplitMix64's finalizer (Steele, Lea & Flood, 2014), which is a
/// bijection on 64 bits with good avalanche; a cell's stream is SplitMix64 started from
/// the mixed (seed, row, column) key. Statistical quality is far beyond what synthetic
/// test data needs, and a cell costs a handful of multiplies.
@inline(__always)
package func mix64(_ value: UInt64) -> UInt64 {
    var z = value
    z = (z ^ (z &>> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z &>> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z &>> 31)
}

/// A short stream of random numbers for one cell (row, column) of a dataset.
package struct CellRandom {
    @usableFromInline var state: UInt64

    /// The row key is already mixed; offsetting it by an odd multiple per column starts each
    /// column's SplitMix64 stream at an unrelated point (streams would have to come within
    /// a few steps of one another to overlap: a chance of about 2^-58 per pair).
    @inline(__always)
    package init(rowKey: UInt64, column: Int) {
        self.state = rowKey ^ (UInt64(truncatingIfNeeded: column &+ 1) &* 0xD6E8_FEB8_6659_FD93)
    }

    @inline(__always)
    package init(state: UInt64) {
        self.state = state
    }

    /// The key every cell of a row derives from.
    @inline(__always)
    package static func rowKey(seed: UInt64, row: Int) -> UInt64 {
        mix64(seed ^ (UInt64(truncatingIfNeeded: row) &* 0x9E37_79B9_7F4A_7C15))
    }

    @inline(__always)
    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return mix64(state)
    }

    /// Uniform in `0..<bound` (multiply-shift; the bias is below 2^-32 for the bounds used here).
    @inline(__always)
    package mutating func below(_ bound: Int) -> Int {
        Int(truncatingIfNeeded: next().multipliedFullWidth(by: UInt64(truncatingIfNeeded: bound)).high)
    }

    /// Uniform in `range` (inclusive).
    @inline(__always)
    package mutating func inRange(_ low: Int, _ high: Int) -> Int {
        low &+ below(high &- low &+ 1)
    }

    /// True with probability `p`, given as a fixed-point threshold in 0...2^32.
    @inline(__always)
    package mutating func chance(_ threshold: UInt64) -> Bool {
        (next() &>> 32) < threshold
    }
}

/// A probability in [0, 1] as a fixed-point threshold in 0...2^32 for `CellRandom.chance`.
package func fixedPointProbability(_ p: Double) -> UInt64 {
    if p <= 0 { return 0 }
    if p >= 1 { return 1 << 32 }
    return UInt64((p * 4_294_967_296.0).rounded(.down))
}
