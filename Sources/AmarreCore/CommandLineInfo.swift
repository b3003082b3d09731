#if canImport(Glibc)
import Glibc
#endif

/// amarre's release, as the repository's `VERSION` file says (a unit test keeps them equal).
public enum AmarreVersion {
    public static let release = "0.5.0"
}

/// `--help` and `--version` of amarre's executables: answered before anything else happens
/// (no configuration read, no socket opened). Any other argument is a usage error (exit 2):
/// the executables are configured by the environment only.
public enum CommandLineInfo {
    public enum Outcome: Equatable {
        case run
        case print(String, exitCode: Int32)
    }

    public static func outcome(arguments: [String], name: String, usage: String) -> Outcome {
        guard let first = arguments.first else { return .run }
        switch first {
        case "-h", "--help": return .print(usage, exitCode: 0)
        case "--version": return .print("\(name) \(AmarreVersion.release) (protocol \(ControlProtocol.version))\n", exitCode: 0)
        default: return .print("\(name): unknown argument \(first)\n\(usage)", exitCode: 2)
        }
    }

    /// Prints and exits for `--help`, `--version` or a bad argument; returns otherwise.
    public static func handle(_ arguments: [String], name: String, usage: String) {
        guard case .print(let text, let code) = outcome(arguments: arguments, name: name, usage: usage) else { return }
        let bytes = Array(text.utf8)
        let fd: Int32 = code == 0 ? 1 : 2
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        exit(code)
    }
}
