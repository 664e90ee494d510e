import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOPosix

/// Our own deadline firing while a response body is read.
struct ResponseBodyTimeout: Error, Sendable, CustomStringConvertible {
    var timeout: Duration
    var description: String { "response not complete within \(self.timeout)" }
}

extension AWSError {
    /// Maps an error thrown by AsyncHTTPClient / NIO while sending a request or reading its
    /// response to an ``AWSError`` of kind `.timeout`, `.connection` or `.invalidRequest`.
    /// Cancellation stays `CancellationError`; an `AWSError` passes through unchanged.
    package static func transport(operation: String, error: any Error) -> any Error {
        if error is AWSError || error is CancellationError { return error }
        if let error = error as? HTTPClientError {
            switch error {
            case .cancelled:
                return Task.isCancelled ? CancellationError() : AWSError(kind: .connection, operation: operation, underlying: error)
            case .deadlineExceeded, .readTimeout, .writeTimeout, .connectTimeout, .getConnectionFromPoolTimeout,
                .tlsHandshakeTimeout, .socksHandshakeTimeout, .httpProxyHandshakeTimeout:
                return AWSError(kind: .timeout, operation: operation, underlying: error)
            case .remoteConnectionClosed, .requestStreamCancelled, .uncleanShutdown, .invalidProxyResponse:
                return AWSError(kind: .connection, operation: operation, underlying: error)
            default:
                return AWSError(kind: .invalidRequest, operation: operation, underlying: error)
            }
        }
        if error is ResponseBodyTimeout {
            return AWSError(kind: .timeout, operation: operation, underlying: error)
        }
        if let error = error as? ChannelError {
            if case .connectTimeout = error {
                return AWSError(kind: .timeout, operation: operation, underlying: error)
            }
            return AWSError(kind: .connection, operation: operation, underlying: error)
        }
        if error is IOError || error is NIOConnectionError || error is HTTPParserError {
            return AWSError(kind: .connection, operation: operation, underlying: error)
        }
        if error is NIOTooManyBytesError {
            return AWSError(kind: .invalidResponse, operation: operation, message: "response body too large", underlying: error)
        }
        // Unknown transport-level failure: treat as a connection problem (the SDKs retry
        // "I/O errors" broadly).
        return AWSError(kind: .connection, operation: operation, underlying: error)
    }
}
