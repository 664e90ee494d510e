import Foundation

/// Writes datasets to files, stdout or any byte sink.
public enum DatasetGenerator {
    /// Streams the dataset described by `recipe` to `sink`, in order, and returns the
    /// recipe completed with the rows and bytes written. `progress` gets the running byte
    /// count after each block; `isCancelled` is polled between blocks (Ctrl-C).
    public static func write(
        schema: Schema,
        recipe: DatasetRecipe,
        threads: Int = 1,
        progress: ((Int) -> Void)? = nil,
        isCancelled: () -> Bool = { false },
        sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws -> DatasetRecipe {
        let reader = try DatasetReader(schema: schema, recipe: recipe, threads: threads)
        defer { reader.close() }
        var total = 0
        while let slice = reader.nextSlice() {
            if slice.count > 0 { try sink(slice) }
            total += slice.count
            progress?(total)
            if isCancelled() { throw GenerationCancelled(bytesWritten: total) }
        }
        return reader.recipe
    }

    /// Writes to an open file descriptor (a file, a pipe, /dev/null, stdout).
    public static func write(
        schema: Schema, recipe: DatasetRecipe, threads: Int = 1, to descriptor: Int32,
        progress: ((Int) -> Void)? = nil, isCancelled: () -> Bool = { false }
    ) throws -> DatasetRecipe {
        try write(schema: schema, recipe: recipe, threads: threads, progress: progress, isCancelled: isCancelled) { slice in
            var offset = 0
            while offset < slice.count {
                let written = Foundation.write(descriptor, slice.baseAddress! + offset, slice.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw WriteError(errno: errno)
                }
                offset += written
            }
        }
    }

    /// The first `rows` rows (with the header, as configured) in memory — for tests and golden hashes.
    public static func bytes(schema: Schema, seed: UInt64, rows: Int, options: GeneratorOptions = GeneratorOptions(), threads: Int = 1) throws -> [UInt8] {
        var out: [UInt8] = []
        _ = try write(schema: schema, recipe: DatasetRecipe(schema: schema, seed: seed, size: .rows(rows), options: options), threads: threads) { slice in
            out.append(contentsOf: slice)
        }
        return out
    }
}

public struct GenerationCancelled: Error, CustomStringConvertible {
    public var bytesWritten: Int
    public var description: String { "generation cancelled after \(bytesWritten) bytes" }
}

public struct WriteError: Error, CustomStringConvertible {
    public var errno: Int32
    public var description: String { "write failed: \(String(cString: strerror(errno)))" }
}
