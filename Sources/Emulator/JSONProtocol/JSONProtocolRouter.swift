import AWSWire
import Crypto
import Foundation

/// Routes JSON 1.0 protocol requests (`POST /` with `X-Amz-Target`) to the DynamoDB and SQS
/// handlers, after verifying SigV4 (standard mode, body hash computed here since these
/// clients send no `x-amz-content-sha256`). Independent of the HTTP server: the endpoint
/// passes the request parts and sends back the ``JSONProtocolResponse``.
///
/// ```swift
/// if let target = request.headers["x-amz-target"], router.accepts(target: target) {
///     let r = await router.handle(method: "POST", path: "/", query: nil, headers: headers, body: bytes)
/// }
/// ```
package struct JSONProtocolRouter: Sendable {
    package let dynamoDB: DynamoDBHandler?
    package let sqs: SQSHandler?
    /// Step Functions (`AWSStepFunctions.*`), when the pipeline runs.
    package let stepFunctions: StepFunctionsHandler?
    /// nil: requests are not authenticated (tests only).
    let secretAccessKey: SigV4Verifier.SecretLookup?
    let now: @Sendable () -> Date

    /// - Parameters:
    ///   - secretAccessKey: the secret of an access key id (nil: unknown key); nil disables
    ///     signature checks.
    ///   - now: the clock for the signature's date check.
    package init(
        dynamoDB: DynamoDBHandler?,
        sqs: SQSHandler?,
        stepFunctions: StepFunctionsHandler? = nil,
        secretAccessKey: SigV4Verifier.SecretLookup?,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.dynamoDB = dynamoDB
        self.sqs = sqs
        self.stepFunctions = stepFunctions
        self.secretAccessKey = secretAccessKey
        self.now = now
    }

    /// Whether `target` (the `X-Amz-Target` header) names a service this router serves.
    package func accepts(target: String) -> Bool {
        (self.dynamoDB != nil && target.hasPrefix(DynamoDBHandler.targetPrefix))
            || (self.sqs != nil && target.hasPrefix(SQSHandler.targetPrefix))
            || (self.stepFunctions != nil && target.hasPrefix(StepFunctionsHandler.targetPrefix))
    }

    /// The same services, plus Step Functions.
    package func adding(stepFunctions: StepFunctionsHandler) -> JSONProtocolRouter {
        JSONProtocolRouter(dynamoDB: self.dynamoDB, sqs: self.sqs, stepFunctions: stepFunctions, secretAccessKey: self.secretAccessKey, now: self.now)
    }

    /// Verifies and dispatches one request. `path`/`query` as on the wire; headers as received.
    package func handle(
        method: String, path: String, query: String?, headers: [(name: String, value: String)], body: [UInt8]
    ) async -> JSONProtocolResponse {
        let target = headers.first { $0.name.lowercased() == "x-amz-target" }?.value ?? ""
        let isSQS = target.hasPrefix(SQSHandler.targetPrefix)
        let isStates = target.hasPrefix(StepFunctionsHandler.targetPrefix)
        if let lookup = self.secretAccessKey {
            let verifier = SigV4Verifier(
                configuration: .init(mode: .standard, service: isSQS ? "sqs" : isStates ? "states" : "dynamodb"), secretAccessKey: lookup
            )
            do throws(SigV4Error) {
                _ = try verifier.verify(
                    method: method, path: path, query: query, headers: headers,
                    bodySHA256: SigV4Signer.payloadHash(of: body), now: self.now()
                )
            } catch {
                return Self.authenticationError(error, sqs: isSQS)
            }
        }
        if isSQS, let sqs = self.sqs {
            let host = headers.first { $0.name.lowercased() == "host" }?.value
            return await sqs.handle(target: target, body: body, host: host)
        }
        if isStates, let stepFunctions = self.stepFunctions {
            return await stepFunctions.handle(target: target, body: body)
        }
        if let dynamoDB = self.dynamoDB, target.hasPrefix(DynamoDBHandler.targetPrefix) {
            return await dynamoDB.handle(target: target, body: body)
        }
        return .error(status: 400, type: "com.amazon.coral.service#UnknownOperationException", message: "Unknown target: \(target)")
    }

    /// AWS's answers for a bad signature: `UnrecognizedClientException` (unknown key),
    /// `InvalidSignatureException` (mismatch), `MissingAuthenticationTokenException`.
    static func authenticationError(_ error: SigV4Error, sqs: Bool) -> JSONProtocolResponse {
        let type: String
        switch error.code {
        case .invalidAccessKeyId: type = sqs ? "com.amazonaws.sqs#InvalidClientTokenId" : "com.amazon.coral.service#UnrecognizedClientException"
        case .signatureDoesNotMatch: type = sqs ? "com.amazonaws.sqs#SignatureDoesNotMatch" : "com.amazon.coral.service#InvalidSignatureException"
        case .requestTimeTooSkewed: type = "com.amazon.coral.service#InvalidSignatureException"
        case .accessDenied: type = "com.amazon.coral.service#MissingAuthenticationTokenException"
        default: type = "com.amazon.coral.service#IncompleteSignatureException"
        }
        return .error(status: sqs ? 403 : 400, type: type, message: error.message)
    }
}
