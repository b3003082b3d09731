/**
 * amarre permission gate: a pi extension (`pi --mode rpc -e amarre-permission-gate.ts`).
 *
 * Before every tool call pi makes, it asks the people driving the session (through pi's RPC
 * extension UI protocol, which amarre relays to every connected client) and blocks the call
 * unless the answer allows it. There is no timeout: a question waits until someone answers.
 *
 * Question (default): `ctx.ui.select("Run <tool>?\n<input preview>", [...])` with the options
 *   "Allow once" | "Allow <tool> for this session" | "Deny".
 *   "Allow <tool> for this session" lets later calls of that tool run without asking until the
 *   pi process ends or its session changes. Anything else (Deny, cancelled) blocks the call.
 * With AMARRE_GATE_PROMPT=confirm: `ctx.ui.confirm("Run <tool>?", <input preview>)` instead,
 *   the original amarre's question (clients that only know confirm); only "yes" allows.
 *
 * AMARRE_ALLOW_TOOLS: comma-separated tool names that run without asking (e.g.
 *   "read,grep,find,ls"); "*" allows every tool. Set by amarre from an instance's `allowTools`.
 *
 * The preview is the part of the input a person needs: the command for bash, the path (and the
 * change) for file tools, else compact JSON; at most 400 characters. It matches the preview
 * amarre's claude-code adapter shows (ToolInputPreview.swift).
 *
 * Self-contained on purpose: no imports, so it loads with any pi version (the extension API
 * package was renamed from @mariozechner/pi-coding-agent to @earendil-works/pi-coding-agent).
 */

const PREVIEW_LIMIT = 400;
const ALLOW_ONCE = "Allow once";
const DENY = "Deny";
const DENIED_REASON = "Denied from amarre";

interface ToolCallEvent {
	toolName: string;
	toolCallId?: string;
	input: unknown;
}

interface GateContext {
	hasUI: boolean;
	ui: {
		confirm(title: string, message: string): Promise<boolean>;
		select(title: string, options: string[]): Promise<string | undefined>;
	};
}

type ToolCallResult = { block: true; reason: string } | undefined;

interface GateAPI {
	on(event: "tool_call", handler: (event: ToolCallEvent, ctx: GateContext) => Promise<ToolCallResult>): void;
	on(event: "session_start", handler: (event: unknown, ctx: GateContext) => void): void;
}

function toolList(value: string | undefined): Set<string> {
	return new Set(
		(value ?? "")
			.split(",")
			.map((name) => name.trim())
			.filter((name) => name.length > 0),
	);
}

function bounded(text: string): string {
	const characters = Array.from(text);
	if (characters.length <= PREVIEW_LIMIT) return text;
	return characters.slice(0, PREVIEW_LIMIT - 1).join("") + "…";
}

function compactJSON(value: unknown): string {
	try {
		return JSON.stringify(value) ?? String(value);
	} catch {
		return String(value);
	}
}

/** The readable part of a tool's input, or undefined to show compact JSON. */
function readable(input: unknown): string | undefined {
	if (typeof input !== "object" || input === null || Array.isArray(input)) return undefined;
	const fields = input as Record<string, unknown>;
	const text = (key: string): string | undefined => {
		const value = fields[key];
		return typeof value === "string" && value.length > 0 ? value : undefined;
	};
	const command = text("command");
	if (command) {
		const description = text("description");
		return description ? `${command}\n# ${description}` : command;
	}
	const plan = text("plan");
	if (plan) return plan;
	const path = text("file_path") ?? text("notebook_path") ?? text("path");
	if (path) {
		const pattern = text("pattern");
		if (pattern) return `${pattern}\nin ${path}`;
		const lines = [path];
		const edits: unknown[] = [fields];
		if (Array.isArray(fields.edits)) edits.push(...fields.edits);
		for (const edit of edits) {
			if (typeof edit !== "object" || edit === null) continue;
			const e = edit as Record<string, unknown>;
			const removed = e.old_string ?? e.oldText;
			const added = e.new_string ?? e.newText;
			if (typeof removed === "string") lines.push(`- ${removed}`);
			if (typeof added === "string") lines.push(`+ ${added}`);
		}
		const content = fields.content ?? fields.new_source;
		if (typeof content === "string") lines.push(content);
		return lines.join("\n");
	}
	const url = text("url");
	if (url) {
		const prompt = text("prompt");
		return prompt ? `${url}\n${prompt}` : url;
	}
	return text("query") ?? text("pattern") ?? text("description") ?? text("prompt");
}

export function preview(input: unknown): string {
	return bounded(readable(input) ?? compactJSON(input));
}

export default function amarrePermissionGate(pi: GateAPI): void {
	const preAllowed = toolList(process.env.AMARRE_ALLOW_TOOLS);
	const askWithConfirm = process.env.AMARRE_GATE_PROMPT === "confirm";
	const allowedForSession = new Set<string>();

	pi.on("session_start", () => {
		// A new, resumed or forked session starts without earlier "for this session" answers.
		allowedForSession.clear();
	});

	pi.on("tool_call", async (event, ctx) => {
		const tool = event.toolName;
		if (preAllowed.has("*") || preAllowed.has(tool) || allowedForSession.has(tool)) return undefined;
		if (!ctx.hasUI) {
			return { block: true, reason: "amarre: nobody can approve tool calls in this mode" };
		}
		const title = `Run ${tool}?`;
		const shown = preview(event.input);
		if (askWithConfirm) {
			const confirmed = await ctx.ui.confirm(title, shown);
			return confirmed === true ? undefined : { block: true, reason: DENIED_REASON };
		}
		const forSession = `Allow ${tool} for this session`;
		const choice = await ctx.ui.select(`${title}\n${shown}`, [ALLOW_ONCE, forSession, DENY]);
		if (choice === ALLOW_ONCE) return undefined;
		if (choice === forSession) {
			allowedForSession.add(tool);
			return undefined;
		}
		return { block: true, reason: DENIED_REASON };
	});
}
