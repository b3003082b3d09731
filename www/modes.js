// A session's modes (issue 13): the model, pi's thinking level, claude's permission mode and
// the tools allowed for this session, as the agent last reported them.
//
// Pure: SessionModes is fed every record of the session (get_state and get_available_models
// responses, session_permissions records) and the hello; the session controller asks the
// agent, views/modes-view.js shows it. `apply` returns true when something shown changed.

/** pi's thinking levels (set_thinking_level). */
export const THINKING_LEVELS = Object.freeze(["off", "minimal", "low", "medium", "high", "xhigh"]);

/** claude's permission modes, as a person reads them. */
export const PERMISSION_MODE_LABELS = Object.freeze({
  default: "Ask before tools",
  acceptEdits: "Accept edits",
  plan: "Plan only",
  bypassPermissions: "Bypass permissions",
});

/** A model's identity: {provider, id, name}, from pi's Model or claude's {value, displayName}. */
export function normalizeModel(m) {
  if (typeof m === "string" && m) return { provider: "", id: m, name: m };
  if (!m || typeof m !== "object") return null;
  const id = typeof m.id === "string" && m.id ? m.id : typeof m.modelId === "string" && m.modelId ? m.modelId : typeof m.value === "string" ? m.value : "";
  if (!id) return null;
  const provider = typeof m.provider === "string" ? m.provider : "";
  const name = typeof m.name === "string" && m.name ? m.name : typeof m.displayName === "string" && m.displayName ? m.displayName : id;
  return { provider, id, name };
}

/** "anthropic/claude-…": tells models apart (two providers may serve the same id). */
export function modelKey(m) {
  return m ? `${m.provider}/${m.id}` : "";
}

function strings(list) {
  return Array.isArray(list) ? [...new Set(list.filter((s) => typeof s === "string" && s !== ""))] : null;
}

export class SessionModes {
  constructor() {
    this.agent = null;
    /** {provider, id, name} or null */
    this.model = null;
    /** pi: the current level, when get_state reports one. */
    this.thinkingLevel = null;
    /** claude: the current mode and the ones this session may switch to. */
    this.permissionMode = null;
    this.permissionModes = [];
    /** Tools allowed for this session without asking: the latest report wins. */
    this.allowedTools = [];
    /** The models get_available_models listed; null until asked. */
    this.models = null;
  }

  setAgent(agent) {
    const value = typeof agent === "string" ? agent : null;
    if (value === this.agent) return false;
    this.agent = value;
    return true;
  }

  /** Can this session's thinking level be set? (pi, when get_state reports a level) */
  get canSetThinking() {
    return this.agent === "pi" && typeof this.thinkingLevel === "string";
  }

  /** Can this session's permission mode be set? (claude, when get_state lists the modes) */
  get canSetPermissionMode() {
    return this.permissionModes.length > 0;
  }

  /** The modes offered; bypassPermissions only when the server lists it. */
  get permissionChoices() {
    return this.permissionModes.map((mode) => ({ mode, label: PERMISSION_MODE_LABELS[mode] ?? mode, dangerous: mode === "bypassPermissions" }));
  }

  /** Applies one record; true when what the modes view shows changed. */
  apply(r) {
    if (!r || typeof r !== "object") return false;
    if (r.type === "amarre.hello") return this.setAgent(r.agent);
    if (r.type === "session_permissions") return this.setAllowed(r.allowedTools);
    if (r.type !== "response" || r.success !== true) return false;
    const data = r.data && typeof r.data === "object" ? r.data : null;
    switch (r.command) {
      case "get_state": return data ? this.applyState(data) : false;
      case "get_available_models": {
        const list = Array.isArray(data?.models) ? data.models : Array.isArray(r.data) ? r.data : null;
        if (!list) return false;
        this.models = list.map(normalizeModel).filter(Boolean);
        return true;
      }
      case "set_model": {
        // pi answers with the model; claude's adapter may answer without data (get_state follows).
        const model = normalizeModel(data);
        if (!model) return false;
        this.model = model;
        return true;
      }
      default: return false;
    }
  }

  applyState(data) {
    let changed = false;
    if (data.model !== undefined) {
      const model = normalizeModel(data.model);
      if (modelKey(model) !== modelKey(this.model) || model?.name !== this.model?.name) {
        this.model = model;
        changed = true;
      }
    }
    const level = typeof data.thinkingLevel === "string" ? data.thinkingLevel : null;
    if (level !== this.thinkingLevel) { this.thinkingLevel = level; changed = true; }
    const mode = typeof data.permissionMode === "string" ? data.permissionMode : null;
    if (mode !== this.permissionMode) { this.permissionMode = mode; changed = true; }
    const modes = strings(data.permissionModes) ?? [];
    if (modes.join("\n") !== this.permissionModes.join("\n")) { this.permissionModes = modes; changed = true; }
    if (Array.isArray(data.allowedTools)) changed = this.setAllowed(data.allowedTools) || changed;
    return changed;
  }

  setAllowed(list) {
    const tools = strings(list);
    if (!tools) return false;
    if (tools.join("\n") === this.allowedTools.join("\n")) return false;
    this.allowedTools = tools;
    return true;
  }

  /** The header's chip: "claude-sonnet-4 · Plan only", "fake-model · thinking high", or null. */
  get summary() {
    const parts = [];
    if (this.model) parts.push(this.model.name || this.model.id);
    if (this.permissionMode && this.permissionMode !== "default") parts.push(PERMISSION_MODE_LABELS[this.permissionMode] ?? this.permissionMode);
    if (this.agent === "pi" && this.thinkingLevel && this.thinkingLevel !== "off") parts.push(`thinking ${this.thinkingLevel}`);
    return parts.length ? parts.join(" · ") : null;
  }
}

// --- the commands the modes view sends (each with an id the controller adds) -------------------

export function setModelCommand(model) {
  return { type: "set_model", provider: model.provider, modelId: model.id };
}

export function setThinkingCommand(level) {
  return { type: "set_thinking_level", level };
}

export function setPermissionModeCommand(mode) {
  return { type: "set_permission_mode", mode };
}

export function revokeCommand(toolName) {
  return { type: "revoke_tool_permission", toolName };
}

/** The answer to an approval card that allows its tool for the rest of the session. */
export function allowForSessionResponse(id) {
  return { type: "extension_ui_response", id, confirmed: true, scope: "session" };
}

/** The error text of a failed response. */
export function responseError(r, fallback = "The agent refused.") {
  return typeof r?.error === "string" && r.error ? r.error : fallback;
}
