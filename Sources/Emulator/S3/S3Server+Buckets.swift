import AWSWire
import Foundation
import HTTPTypes
import HummingbirdCore
import NIOCore

extension S3Server {
    func listBuckets(_ request: S3Request) async throws -> S3Response {
        let buckets = try await self.store.listBuckets()
        var xml = XML.Writer()
        xml.open("ListAllMyBucketsResult", attributes: s3Namespace)
        xml.open("Owner")
        xml.element("ID", text: self.configuration.accountId)
        xml.element("DisplayName", text: "csvstorm")
        xml.close("Owner")
        xml.open("Buckets")
        for bucket in buckets {
            xml.open("Bucket")
            xml.element("Name", text: bucket.name)
            xml.element("CreationDate", text: S3Time.iso8601(bucket.createdAt))
            xml.element("BucketRegion", text: self.configuration.region)
            xml.close("Bucket")
        }
        xml.close("Buckets")
        xml.close("ListAllMyBucketsResult")
        return .xml(xml)
    }

    static func isValidBucketName(_ name: String) -> Bool {
        let u = Array(name.utf8)
        guard (3...63).contains(u.count) else { return false }
        for b in u {
            let ok = (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || b == 0x2D || b == 0x2E
            if !ok { return false }
        }
        return u.first != 0x2D && u.first != 0x2E && u.last != 0x2D && u.last != 0x2E
    }

    func createBucket(_ request: S3Request, bucket: String, identity: SigV4Identity, body: ByteBuffer) async throws -> S3Response {
        guard Self.isValidBucketName(bucket) else {
            throw S3Error(.invalidBucketName, "The specified bucket is not valid.", details: [("BucketName", bucket)])
        }
        if body.readableBytes > 0 {
            do {
                _ = try XML.parse(body)
            } catch {
                throw S3Error.malformedXML()
            }
        }
        let lock = request.header("x-amz-bucket-object-lock-enabled")?.lowercased() == "true"
        let created = try await self.store.createBucket(
            BucketRecord(name: bucket, createdAt: Date(), versioningEnabled: lock, objectLockEnabled: lock, retentionSeconds: nil)
        )
        // S3 answers a repeated CreateBucket of one's own bucket with 200 in us-east-1, 409 elsewhere.
        if !created && identity.region != "us-east-1" {
            throw S3Error(
                .bucketAlreadyOwnedByYou, "Your previous request to create the named bucket succeeded and you already own it.",
                details: [("BucketName", bucket)]
            )
        }
        var response = S3Response()
        response.set("location", "/\(bucket)")
        return response
    }

    func headBucket(_ request: S3Request, bucket: String) async throws -> S3Response {
        _ = try await self.store.requireBucket(bucket)
        var response = S3Response()
        response.set("x-amz-bucket-region", self.configuration.region)
        return response
    }

    func deleteBucket(_ request: S3Request, bucket: String) async throws -> S3Response {
        try await self.store.deleteBucket(bucket)
        return S3Response(status: .noContent)
    }

    func getBucketLocation(_ request: S3Request, bucket: String) async throws -> S3Response {
        _ = try await self.store.requireBucket(bucket)
        var xml = XML.Writer()
        xml.open("LocationConstraint", attributes: s3Namespace)
        if self.configuration.region != "us-east-1" { xml.text(self.configuration.region) }
        xml.close("LocationConstraint")
        return .xml(xml)
    }

    func getBucketVersioning(_ request: S3Request, bucket: String) async throws -> S3Response {
        let record = try await self.store.requireBucket(bucket)
        var xml = XML.Writer()
        xml.open("VersioningConfiguration", attributes: s3Namespace)
        if record.versioningEnabled { xml.element("Status", text: "Enabled") }
        xml.close("VersioningConfiguration")
        return .xml(xml)
    }

    func putBucketVersioning(_ request: S3Request, bucket: String, body: ByteBuffer) async throws -> S3Response {
        let root: XML.Element
        do {
            root = try XML.parse(body)
        } catch {
            throw S3Error.malformedXML()
        }
        switch root.childText("Status") {
        case "Enabled": try await self.store.setVersioning(bucket: bucket, enabled: true)
        case "Suspended": throw S3Error.notImplemented("suspended versioning")
        default: throw S3Error.malformedXML()
        }
        return S3Response()
    }

    func getObjectLockConfiguration(_ request: S3Request, bucket: String) async throws -> S3Response {
        let record = try await self.store.requireBucket(bucket)
        guard record.objectLockEnabled else {
            throw S3Error(.objectLockConfigurationNotFound, "Object Lock configuration does not exist for this bucket", details: [("BucketName", bucket)])
        }
        var xml = XML.Writer()
        xml.open("ObjectLockConfiguration", attributes: s3Namespace)
        xml.element("ObjectLockEnabled", text: "Enabled")
        if let seconds = record.retentionSeconds {
            xml.open("Rule")
            xml.open("DefaultRetention")
            xml.element("Mode", text: "COMPLIANCE")
            xml.element("Days", text: String(max(1, seconds / 86_400)))
            xml.close("DefaultRetention")
            xml.close("Rule")
        }
        xml.close("ObjectLockConfiguration")
        return .xml(xml)
    }
}
