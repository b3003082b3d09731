// amarre-demo-agent: a stand-in for `pi --mode rpc` that needs no model, no network and no key.
//
// It reads pi RPC commands as JSON lines on stdin and writes responses and events as JSON lines
// on stdout, in pi's shapes, so the relay and the web client can be tried and tested without a
// real agent. Replies are scripted: the same prompt always gets the same answer. Nothing is ever
// executed; tool calls are pretend and their output is canned.
//
// Commands: get_state, get_messages, get_commands, prompt (with optional streamingBehavior
// "steer" / "followUp" while streaming), steer, follow_up, abort, extension_ui_response.
//
// A prompt containing one of the words run, execute, edit, write, create, delete, ls, rm, bash
// (whole words, any case) makes the assistant call a tool (`bash`, or `edit` for edit/write/create);
// the permission gate then sends an `extension_ui_request` (method "confirm", title "Run <tool>?")
// and waits for `{"type":"extension_ui_response","id":...,"confirmed":true|false}`
// (`"cancelled":true` means no; an answer with only a `value` is ignored).
//
// Special prompts, for testing the relay (the message must be exactly this):
//   /crash      answer the prompt, print one last event line (an `extension_error`), exit with status 3.
//               Works even while streaming.
//   /stderr     answer the prompt and write one line to stderr. Works even while streaming.
//   /flood N    a run whose assistant message is N tiny `message_update` text deltas ("1 ", "2 ", ...,
//               without the usual `message` snapshot) written as fast as stdout takes them, then
//               message_end, turn_end, agent_end. N defaults to 1000, at most 1,000,000.
//   /big N      a run with exactly one large record: a `message_update` whose text delta is N bytes of
//               ASCII (the final message holds a short note instead). N defaults to 1 MiB, at most 64 MiB.
//
// Environment:
//   AMARRE_DEMO_SPEED            divides every pause (default 1; 100 for fast tests).
//   AMARRE_DEMO_MAX_LINE_BYTES   longest accepted stdin line (default 64 MiB).
//
// Exits with status 0 when stdin ends, even in the middle of a stream.

import AmarreCore
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

CommandLineInfo.handle(
    Array(CommandLine.arguments.dropFirst()), name: "amarre-demo-agent",
    usage: """
        Usage: amarre-demo-agent [--help | --version]

        A deterministic stand-in for `pi --mode rpc`: pi RPC commands as JSON lines on stdin,
        pi's events and responses on stdout. Needs no model, network or key; nothing is executed.
        Special prompts: /crash, /stderr, /flood N, /big N. Environment: AMARRE_DEMO_SPEED
        (divides every pause), AMARRE_DEMO_MAX_LINE_BYTES. Exits 0 when stdin ends.

        """)

// A reader that goes away must not kill the agent with SIGPIPE; a failed write exits instead.
signal(SIGPIPE, SIG_IGN)

let configuration = DemoConfiguration(
    environment: ProcessInfo.processInfo.environment,
    workingDirectory: FileManager.default.currentDirectoryPath)
let driver = DemoDriver(configuration: configuration)
driver.start()
dispatchMain()
