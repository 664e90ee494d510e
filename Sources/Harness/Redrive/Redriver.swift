import AWSWire
import Foundation

/// `csvstorm redrive`: re-submits the events the rule's target could not take (the RetryQueue's
/// dead letters) to the workflow, with StartExecution, then deletes each message that was
/// submitted. Works unchanged against the emulator and a deployed pipeline.
///
/// Each execution is named `redrive-<messageId>`, so a message redriven twice (a crash between
/// StartExecution and DeleteMessage) starts one execution only: the second start answers
/// `ExecutionAlreadyExists`, and the message is then deleted.
package struct Redriver: Sendable {
    package struct Action: Sendable, Hashable {
        package enum Result: String, Sendable {
            case started, alreadyStarted = "already-started", skipped, failed
        }

        package var messageId: String
        package var objectKey: String?
        package var result: Result
        package var executionArn: String?
        package var error: String?
    }

    package let sqs: SQSClient
    package let stepFunctions: StepFunctionsClient
    package let queueURL: String
    package let stateMachineArn: String

    package init(sqs: SQSClient, stepFunctions: StepFunctionsClient, queueURL: String, stateMachineArn: String) {
        self.sqs = sqs
        self.stepFunctions = stepFunctions
        self.queueURL = queueURL
        self.stateMachineArn = stateMachineArn
    }

    /// Redrives at most `limit` messages (until the queue answers empty). With `dryRun`,
    /// messages are received (and so hidden for the pass), listed, and released again at the end
    /// (visibility 0) without starting anything.
    package func redrive(limit: Int, dryRun: Bool, report: (Action) -> Void) async throws -> [Action] {
        var actions: [Action] = []
        var held: [String] = []
        var emptyPolls = 0
        while actions.count < limit, emptyPolls < 2 {
            let batch = try await self.sqs.receiveMessage(
                queueURL: self.queueURL, maxMessages: min(10, limit - actions.count), waitSeconds: 1, visibilityTimeout: 60
            )
            if batch.isEmpty {
                emptyPolls += 1
                continue
            }
            for message in batch {
                if dryRun { held.append(message.receiptHandle) }
                let action = await self.redrive(message, dryRun: dryRun)
                report(action)
                actions.append(action)
            }
        }
        // A dry run hid what it listed: show it again (a failure here only delays the messages
        // by their visibility timeout).
        for handle in held {
            try? await self.sqs.changeMessageVisibility(queueURL: self.queueURL, receiptHandle: handle, visibilityTimeout: 0)
        }
        return actions
    }

    private func redrive(_ message: SQSClient.Message, dryRun: Bool) async -> Action {
        let key = Self.objectKey(message.body)
        var action = Action(messageId: message.messageId, objectKey: key, result: .skipped)
        if dryRun { return action }
        let name = "redrive-" + message.messageId.filter { $0.isLetter || $0.isNumber || $0 == "-" }.prefix(64)
        do {
            action.executionArn = try await self.stepFunctions.startExecution(stateMachineArn: self.stateMachineArn, input: message.body, name: String(name))
            action.result = .started
        } catch let error as AWSError where error.code?.rawValue == "ExecutionAlreadyExists" {
            action.result = .alreadyStarted
        } catch {
            action.result = .failed
            action.error = "\(error)"
            return action
        }
        do {
            try await self.sqs.deleteMessage(queueURL: self.queueURL, receiptHandle: message.receiptHandle)
        } catch {
            action.error = "started, but deleting the message failed (it will be redriven again, harmlessly): \(error)"
        }
        return action
    }

    /// `detail.object.key` of an Object Created event, when the body is one.
    static func objectKey(_ body: String) -> String? {
        guard let json = try? JSONValue.parse(Array(body.utf8)) else { return nil }
        return json["detail"]?["object"]?["key"]?.stringValue
    }
}
