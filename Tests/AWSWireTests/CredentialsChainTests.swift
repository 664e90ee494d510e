import Foundation
import Testing

@testable import AWSWire

/// The environment and file steps of the chain, and region resolution. Every test injects its
/// own environment and writes its files under a fresh temporary directory; the real
/// environment and home directory are never read.
@Suite("Credentials chain")
struct CredentialsChainTests {
    /// A temporary `HOME` with helpers to write `~/.aws/…` files; removed by `remove()`.
    struct TemporaryHome {
        let path: String

        init() throws {
            let url = FileManager.default.temporaryDirectory
                .appendingPathComponent("csvstorm-credentials-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: url.appendingPathComponent(".aws"), withIntermediateDirectories: true)
            self.path = url.path
        }

        @discardableResult
        func write(_ relativePath: String, _ text: String) throws -> String {
            let file = self.path + "/" + relativePath
            try FileManager.default.createDirectory(
                atPath: (file as NSString).deletingLastPathComponent,
                withIntermediateDirectories: true
            )
            try Data(text.utf8).write(to: URL(fileURLWithPath: file))
            return file
        }

        func remove() {
            try? FileManager.default.removeItem(atPath: self.path)
        }
    }

    static func withHome<T>(_ body: (TemporaryHome) throws -> T) throws -> T {
        let home = try TemporaryHome()
        defer { home.remove() }
        return try body(home)
    }

    static func error(_ body: () throws(CredentialsError) -> Void) -> CredentialsError? {
        do {
            try body()
            return nil
        } catch {
            return error
        }
    }

    // MARK: Environment

    @Test func environmentComesFirst() throws {
        try Self.withHome { home in
            try home.write(".aws/credentials", "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = filesecret\n")
            let chain = CredentialsChain(environment: [
                "HOME": home.path,
                "AWS_ACCESS_KEY_ID": "ENVKEY",
                "AWS_SECRET_ACCESS_KEY": "envsecret",
                "AWS_SESSION_TOKEN": "envtoken",
            ])
            let resolved = try #require(try chain.resolveWithoutNetwork())
            #expect(resolved.source == .environment)
            #expect(
                resolved.credentials
                    == AWSCredentials(accessKeyId: "ENVKEY", secretAccessKey: "envsecret", sessionToken: "envtoken")
            )
        }
    }

    @Test(arguments: [
        (["AWS_ACCESS_KEY_ID": "K"], "AWS_SECRET_ACCESS_KEY"),
        (["AWS_SECRET_ACCESS_KEY": "S", "AWS_ACCESS_KEY_ID": ""], "AWS_ACCESS_KEY_ID"),
    ])
    func partialEnvironment(environment: [String: String], missing: String) {
        let error = Self.error { () throws(CredentialsError) in
            _ = try CredentialsChain(environment: environment).resolveWithoutNetwork()
        }
        #expect(error?.code == .partialCredentials)
        #expect(error?.message.contains(missing) == true)
    }

    // MARK: Files

    @Test func defaultProfileFromHomeCredentialsFile() throws {
        try Self.withHome { home in
            let path = try home.write(
                ".aws/credentials",
                """
                # a comment
                ; another comment
                [default]
                aws_access_key_id=AKIDDEFAULT
                aws_secret_access_key = secret/default+key=
                aws_session_token =token==

                [dev]
                aws_access_key_id = AKIDDEV
                aws_secret_access_key = devsecret
                """
            )
            let resolved = try #require(try CredentialsChain(environment: ["HOME": home.path]).resolveWithoutNetwork())
            #expect(resolved.source == .sharedCredentialsFile(path: path, profile: "default"))
            #expect(
                resolved.credentials
                    == AWSCredentials(accessKeyId: "AKIDDEFAULT", secretAccessKey: "secret/default+key=", sessionToken: "token==")
            )
        }
    }

    @Test func profileSelectionAndExplicitFilePaths() throws {
        try Self.withHome { home in
            try home.write(
                "elsewhere/creds.ini",
                """
                [default]
                aws_access_key_id = AKIDDEFAULT
                aws_secret_access_key = s1
                [ dev ]
                AWS_ACCESS_KEY_ID: AKIDDEV
                Aws_Secret_Access_Key: s2
                """
            )
            let chain = CredentialsChain(environment: [
                "HOME": home.path,
                "AWS_SHARED_CREDENTIALS_FILE": "~/elsewhere/creds.ini",
                "AWS_PROFILE": "dev",
            ])
            #expect(chain.profileName == "dev")
            #expect(chain.sharedCredentialsFilePath == home.path + "/elsewhere/creds.ini")
            let resolved = try #require(try chain.resolveWithoutNetwork())
            #expect(resolved.credentials.accessKeyId == "AKIDDEV")
            #expect(resolved.credentials.secretAccessKey == "s2")
            #expect(resolved.credentials.sessionToken == nil)

            let fallback = CredentialsChain(environment: [
                "AWS_SHARED_CREDENTIALS_FILE": home.path + "/elsewhere/creds.ini",
                "AWS_DEFAULT_PROFILE": "dev",
            ])
            #expect(try fallback.resolveWithoutNetwork()?.credentials.accessKeyId == "AKIDDEV")
        }
    }

    @Test func configFileProfiles() throws {
        try Self.withHome { home in
            let config = try home.write(
                ".aws/config",
                """
                [default]
                region = us-west-2

                [profile dev]
                region = eu-central-1
                s3 =
                    max_concurrent_requests = 20
                    region = nested-not-a-region
                aws_access_key_id = AKIDCONFIG
                aws_secret_access_key = configsecret

                [dev]
                aws_access_key_id = NOT-A-PROFILE-IN-CONFIG
                aws_secret_access_key = x

                [sso-session corp]
                sso_region = us-east-1
                """
            )
            let dev = CredentialsChain(environment: ["HOME": home.path, "AWS_PROFILE": "dev"])
            let resolved = try #require(try dev.resolveWithoutNetwork())
            #expect(resolved.source == .configFile(path: config, profile: "dev"))
            #expect(resolved.credentials.accessKeyId == "AKIDCONFIG")
            #expect(try dev.resolveRegion() == "eu-central-1")

            let byDefault = CredentialsChain(environment: ["HOME": home.path])
            #expect(try byDefault.resolveWithoutNetwork() == nil)
            #expect(try byDefault.resolveRegion() == "us-west-2")
        }
    }

    @Test func crlfLineEndings() throws {
        try Self.withHome { home in
            try home.write(".aws/credentials", "[default]\r\naws_access_key_id = CRLF\r\naws_secret_access_key = s\r\n")
            let resolved = try CredentialsChain(environment: ["HOME": home.path]).resolveWithoutNetwork()
            #expect(resolved?.credentials.accessKeyId == "CRLF")
            #expect(resolved?.credentials.secretAccessKey == "s")
        }
    }

    @Test func credentialsFileBeatsConfigFile() throws {
        try Self.withHome { home in
            try home.write(".aws/config", "[default]\naws_access_key_id = FROMCONFIG\naws_secret_access_key = c\n")
            try home.write(".aws/credentials", "[default]\naws_access_key_id = FROMCREDENTIALS\naws_secret_access_key = k\n")
            let resolved = try CredentialsChain(environment: ["HOME": home.path]).resolveWithoutNetwork()
            #expect(resolved?.credentials.accessKeyId == "FROMCREDENTIALS")
        }
    }

    @Test func partialProfileNamesFileAndLine() throws {
        try Self.withHome { home in
            let path = try home.write(".aws/credentials", "[default]\n\naws_access_key_id = ONLYKEY\n")
            let error = Self.error { () throws(CredentialsError) in
                _ = try CredentialsChain(environment: ["HOME": home.path]).resolveWithoutNetwork()
            }
            #expect(error?.code == .partialCredentials)
            #expect(error?.message.contains(path) == true)
            #expect(error?.message.contains("line 3") == true)
            #expect(error?.message.contains("aws_secret_access_key") == true)
        }
    }

    @Test func explicitProfileThatDoesNotExist() throws {
        try Self.withHome { home in
            try home.write(".aws/credentials", "[default]\naws_access_key_id = K\naws_secret_access_key = S\n")
            let error = Self.error { () throws(CredentialsError) in
                _ = try CredentialsChain(environment: ["HOME": home.path, "AWS_PROFILE": "prod"]).resolveWithoutNetwork()
            }
            #expect(error?.code == .profileNotFound)
            #expect(error?.message.contains("\"prod\"") == true)
        }
    }

    @Test func nothingConfiguredFailsWithAListOfWhatWasTried() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let chain = CredentialsChain(environment: ["HOME": home.path])
        do {
            _ = try await chain.resolve()
            Issue.record("expected noCredentials")
        } catch let error as CredentialsError {
            #expect(error.code == .noCredentials)
            #expect(error.message.contains("AWS_ACCESS_KEY_ID"))
            #expect(error.message.contains(home.path + "/.aws/credentials"))
            #expect(error.message.contains("container endpoint"))
        }
    }

    @Test func noHomeMeansNoDefaultFiles() throws {
        let chain = CredentialsChain(environment: [:])
        #expect(chain.sharedCredentialsFilePath == nil)
        #expect(chain.configFilePath == nil)
        #expect(try chain.resolveWithoutNetwork() == nil)
        #expect(try chain.resolveRegion() == nil)
    }

    // MARK: Region

    @Test func regionPrecedence() throws {
        try Self.withHome { home in
            try home.write(".aws/config", "[default]\nregion = from-config\n")
            let base = ["HOME": home.path]
            #expect(try CredentialsChain(environment: base).resolveRegion() == "from-config")
            #expect(
                try CredentialsChain(environment: base.merging(["AWS_DEFAULT_REGION": "from-default"]) { $1 })
                    .resolveRegion() == "from-default"
            )
            #expect(
                try CredentialsChain(
                    environment: base.merging(["AWS_DEFAULT_REGION": "from-default", "AWS_REGION": "from-region"]) { $1 }
                ).resolveRegion() == "from-region"
            )
            let custom = try home.write("other-config", "[profile x]\nregion = from-other\n")
            #expect(
                try CredentialsChain(environment: ["AWS_CONFIG_FILE": custom, "AWS_PROFILE": "x"]).resolveRegion()
                    == "from-other"
            )
        }
    }

    // MARK: Container endpoint: request building and parsing (no network)

    @Test func relativeURIGoesToTheECSAddress() throws {
        let chain = CredentialsChain(environment: [
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/abc-123",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:1/ignored",
        ])
        let request = try #require(try chain.containerCredentialsRequest())
        #expect(request.url == "http://169.254.170.2/v2/credentials/abc-123")
        #expect(request.authorization == nil)
    }

    @Test(arguments: [
        "http://127.0.0.1:8080/creds", "http://127.0.0.2/creds", "http://localhost:9/c", "http://[::1]:80/c",
        "http://169.254.170.23/v1/credentials", "http://169.254.170.2/c", "https://credentials.example.com/c",
    ])
    func allowedFullURIs(url: String) throws {
        let chain = CredentialsChain(environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": url])
        #expect(try chain.containerCredentialsRequest()?.url == url)
    }

    @Test(arguments: ["http://example.com/creds", "http://10.0.0.1/creds", "ftp://127.0.0.1/c", "not a url", "/relative"])
    func rejectedFullURIs(url: String) {
        let error = Self.error { () throws(CredentialsError) in
            _ = try CredentialsChain(environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": url]).containerCredentialsRequest()
        }
        #expect(error?.code == .containerEndpointNotAllowed)
    }

    @Test func authorizationTokenFileIsPreferredAndTrimmed() throws {
        try Self.withHome { home in
            try home.write("token", "file-token\n")
            let environment = [
                "HOME": home.path,
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:1/c",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN": "env-token",
            ]
            #expect(try CredentialsChain(environment: environment).containerCredentialsRequest()?.authorization == "env-token")
            let withFile = environment.merging(["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": "~/token"]) { $1 }
            #expect(try CredentialsChain(environment: withFile).containerCredentialsRequest()?.authorization == "file-token")

            let missing = environment.merging(["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": home.path + "/nope"]) { $1 }
            let error = Self.error { () throws(CredentialsError) in
                _ = try CredentialsChain(environment: missing).containerCredentialsRequest()
            }
            #expect(error?.code == .unreadableFile)

            let injected = environment.merging(["AWS_CONTAINER_AUTHORIZATION_TOKEN": "a\r\nX-Evil: 1"]) { $1 }
            let injectionError = Self.error { () throws(CredentialsError) in
                _ = try CredentialsChain(environment: injected).containerCredentialsRequest()
            }
            #expect(injectionError?.code == .containerEndpointNotAllowed)
        }
    }

    @Test func noContainerVariablesNoRequest() throws {
        #expect(try CredentialsChain(environment: ["AWS_CONTAINER_AUTHORIZATION_TOKEN": "t"]).containerCredentialsRequest() == nil)
    }

    @Test(arguments: [
        ("2030-01-02T03:04:05Z", 1_893_553_445.0),
        ("2030-01-02T03:04:05.250Z", 1_893_553_445.25),
        ("2030-01-02T04:04:05+01:00", 1_893_553_445.0),
    ])
    func parseContainerResponse(expiration: String, seconds: Double) throws {
        let json = """
            {"RoleArn":"arn:aws:iam::123456789012:role/task","AccessKeyId":"ASIAEXAMPLE",
             "SecretAccessKey":"secret","Token":"token","Expiration":"\(expiration)"}
            """
        let credentials = try CredentialsChain.parseContainerCredentials(Array(json.utf8), url: "u")
        #expect(credentials.accessKeyId == "ASIAEXAMPLE")
        #expect(credentials.secretAccessKey == "secret")
        #expect(credentials.sessionToken == "token")
        let date = try #require(credentials.expiration)
        #expect(abs(date.timeIntervalSince1970 - seconds) < 0.001)
        #expect(credentials.expires(within: .seconds(60), of: date.addingTimeInterval(-30)))
        #expect(!credentials.expires(within: .seconds(60), of: date.addingTimeInterval(-120)))
    }

    @Test(arguments: [
        #"{"AccessKeyId":"A"}"#, #"{"SecretAccessKey":"S"}"#, "not json", "[]",
        #"{"AccessKeyId":"A","SecretAccessKey":"S","Expiration":"tomorrow"}"#,
    ])
    func invalidContainerResponses(json: String) {
        let error = Self.error { () throws(CredentialsError) in
            _ = try CredentialsChain.parseContainerCredentials(Array(json.utf8), url: "u")
        }
        #expect(error?.code == .invalidContainerResponse)
    }

    @Test func descriptionRedactsSecrets() {
        let credentials = AWSCredentials(accessKeyId: "AKID", secretAccessKey: "very-secret", sessionToken: "tok-secret")
        #expect(!credentials.description.contains("very-secret"))
        #expect(!credentials.description.contains("tok-secret"))
        #expect(credentials.description.contains("AKID"))
    }
}
