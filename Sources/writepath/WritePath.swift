import ArgumentParser
import WritePathEngine

#if canImport(Glibc)
    import Glibc
#endif

/// The `writepath` command.
struct WritePath: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "writepath",
        abstract: "Measure what each layer between an application and the disk costs its writes.",
        version: "\(BuildInfo.version) (\(BuildInfo.gitCommit))",
        subcommands: [
            RunCommand.self, DemoCommand.self, LayersCommand.self, GuestImageCommand.self, ReportCommand.self, CompareCommand.self,
            VerifyCommand.self,
            SweepCommand.self, PlanCommand.self, FleetCommand.self, K8sCommand.self,
        ])
}

/// Entry point: parses, runs, and maps every error to one line and an exit code:
/// 0 done, 1 an I/O or system failure, 2 invalid input (never ArgumentParser's 64).
@main
enum Main {
    static func main() {
        let given = Array(CommandLine.arguments.dropFirst())
        do {
            let arguments = try WorkloadOptions.extract(given)
            var command = try WritePath.parseAsRoot(arguments)
            try command.run()
        } catch let error as WritePathError {
            printError(error.description)
            exit(error.exitCode)
        } catch let error as ExitCode {
            exit(error.rawValue)
        } catch {
            let code = WritePath.exitCode(for: error)
            if code == .success {
                // --help and --version.
                let text = WritePath.fullMessage(for: error)
                print(WorkloadOptions.asksForHelp(given) ? WorkloadOptions.help(text) : text)
                exit(0)
            }
            let message = WritePath.message(for: error)
            printError(message.split(separator: "\n").first.map(String.init) ?? message)
            exit(2)
        }
    }

    /// Prints `message` as exactly one line: any newline or control character inside it (from
    /// a file's contents or a library's message) is shown escaped, never starting a new line.
    static func printError(_ message: String) {
        var text = message
        while text.hasSuffix("\n") { text.removeLast() }
        Output.stderr("writepath: error: " + clipped(text, limit: 4000) + "\n")
    }
}
