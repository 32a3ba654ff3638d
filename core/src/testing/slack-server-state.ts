/**
 * The workspace behind the local Slack server (`slack-server.ts`): channels, messages, threads, and
 * the Web API rules a notifier can break. Kept apart from the HTTP layer so the rules read as a
 * list, and so tests can reason about what Slack would have stored without parsing HTTP.
 *
 * The rules follow Slack's documented behaviour (docs.slack.dev: chat.postMessage, chat.update,
 * Block Kit limits), simplified where Slack is vague: an unknown `thread_ts` is refused with
 * `thread_not_found` instead of being posted at the top level, and `chat.update` only accepts a
 * channel ID (as Slack documents), so a notifier that kept a channel name is caught here.
 */

/** A channel to create: `name` without `#`; `id` is generated (`C…`) when absent. */
export interface SlackChannelSpec {
  name: string;
  id?: string;
  archived?: boolean;
}

/** One stored message, top level or a thread reply, as it reads now. */
export interface SlackMessage {
  /** Channel ID (`C…`). */
  channel: string;
  ts: string;
  text: string;
  blocks?: unknown[];
  /** The parent's `ts` for a thread reply. */
  threadTs?: string;
  /** Replies in order (always empty on a reply itself). */
  replies: SlackMessage[];
  /** How many `chat.update` calls changed it in place. */
  edits: number;
  /** Every version before the current one, oldest first: to assert what an update replaced. */
  history: { text: string; blocks?: unknown[] }[];
  via: 'api' | 'webhook';
}

interface Channel {
  id: string;
  name: string;
  archived: boolean;
  messages: SlackMessage[];
  byTs: Map<string, SlackMessage>;
}

/** A Web API answer body: always HTTP 200, `ok` says whether it worked. */
export type SlackApiAnswer = { ok: true; [key: string]: unknown } | { ok: false; error: string };

/** Slack truncates beyond this; the Web API refuses it with `msg_too_long`. */
export const MAX_TEXT = 40_000;
/** Block Kit: at most 50 blocks per message. */
export const MAX_BLOCKS = 50;

const CHANNEL_ID = /^[CGD][A-Z0-9]{8,}$/;

/** The channels and messages one server holds. */
export class SlackWorkspace {
  private readonly channels = new Map<string, Channel>();
  private nextChannel = 1;
  private nextTs = 100;

  constructor(specs: SlackChannelSpec[]) {
    for (const spec of specs) this.addChannel(spec);
  }

  /** Creates a channel (or returns the existing one of that name) and gives its ID. */
  addChannel(spec: SlackChannelSpec): string {
    const name = spec.name.replace(/^#/, '');
    const existing = this.byName(name);
    if (existing) return existing.id;
    const id = spec.id ?? `C${String(this.nextChannel++).padStart(10, '0')}`;
    this.channels.set(id, { id, name, archived: spec.archived ?? false, messages: [], byTs: new Map() });
    return id;
  }

  /** Archives (or unarchives) a channel: posts and updates then fail with `is_archived`. */
  archive(ref: string, archived = true): void {
    this.mustFind(ref).archived = archived;
  }

  /** Removes a channel, as if deleted: later calls get `channel_not_found`. */
  removeChannel(ref: string): void {
    this.channels.delete(this.mustFind(ref).id);
  }

  /** The channel's ID for a name, `#name` or ID; `undefined` when unknown. */
  resolve(ref: string): string | undefined {
    return this.find(ref)?.id;
  }

  /** Top-level messages of a channel (by name, `#name` or ID), oldest first. */
  messages(ref: string): SlackMessage[] {
    return this.mustFind(ref).messages;
  }

  /** `chat.postMessage`: posts a message or a thread reply. */
  postMessage(args: Record<string, unknown>): SlackApiAnswer {
    const channel = this.find(str(args.channel));
    if (!channel) return fail('channel_not_found');
    const refused = checkContent(args) ?? (channel.archived ? 'is_archived' : undefined);
    if (refused) return fail(refused);
    const threadTs = args.thread_ts === undefined ? undefined : str(args.thread_ts);
    let parent: SlackMessage | undefined;
    if (threadTs !== undefined) {
      const target = channel.byTs.get(threadTs);
      if (!target) return fail('thread_not_found');
      // A reply to a reply belongs to the parent's thread, as in Slack.
      parent = target.threadTs === undefined ? target : channel.byTs.get(target.threadTs);
    }
    const message = this.store(channel, args, 'api', parent);
    return { ok: true, channel: channel.id, ts: message.ts, message: wire(message) };
  }

  /** `chat.update`: changes a message in place; omitted `blocks` are kept, `[]` clears them. */
  update(args: Record<string, unknown>): SlackApiAnswer {
    const ref = str(args.channel);
    const channel = CHANNEL_ID.test(ref) ? this.channels.get(ref) : undefined;
    if (!channel) return fail('channel_not_found');
    const message = channel.byTs.get(str(args.ts));
    if (!message) return fail('message_not_found');
    const refused = checkContent(args) ?? (channel.archived ? 'is_archived' : undefined);
    if (refused) return fail(refused);
    message.history.push({ text: message.text, ...(message.blocks ? { blocks: message.blocks } : {}) });
    if (typeof args.text === 'string') message.text = args.text;
    if (Array.isArray(args.blocks)) {
      if (args.blocks.length === 0) delete message.blocks;
      else message.blocks = args.blocks;
    }
    message.edits++;
    return { ok: true, channel: channel.id, ts: message.ts, text: message.text, message: wire(message) };
  }

  /**
   * An incoming-webhook post to `channelRef`: the HTTP status and plain-text body Slack answers
   * (200 `ok`; 400 `invalid_payload` and the content errors; 404 `channel_not_found`; 410
   * `channel_is_archived`).
   */
  webhookPost(channelRef: string, payload: unknown): { status: number; body: string } {
    const channel = this.find(channelRef);
    if (!channel) return { status: 404, body: 'channel_not_found' };
    if (channel.archived) return { status: 410, body: 'channel_is_archived' };
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return { status: 400, body: 'invalid_payload' };
    const args = payload as Record<string, unknown>;
    const refused = checkContent(args);
    if (refused) return { status: 400, body: refused === 'no_text' ? 'invalid_payload' : refused };
    const parent = args.thread_ts === undefined ? undefined : channel.byTs.get(str(args.thread_ts));
    this.store(channel, args, 'webhook', parent);
    return { status: 200, body: 'ok' };
  }

  private store(channel: Channel, args: Record<string, unknown>, via: SlackMessage['via'], parent?: SlackMessage): SlackMessage {
    const message: SlackMessage = {
      channel: channel.id,
      ts: this.ts(),
      text: typeof args.text === 'string' ? args.text : '',
      ...(Array.isArray(args.blocks) && args.blocks.length > 0 ? { blocks: args.blocks } : {}),
      ...(parent ? { threadTs: parent.ts } : {}),
      replies: [],
      edits: 0,
      history: [],
      via,
    };
    if (parent) parent.replies.push(message);
    else channel.messages.push(message);
    channel.byTs.set(message.ts, message);
    return message;
  }

  /** `1700000000.000100`, `…000200`, …: strings that sort as they were posted, like Slack's. */
  private ts(): string {
    const micros = this.nextTs;
    this.nextTs += 100;
    return `${1_700_000_000 + Math.floor(micros / 1_000_000)}.${String(micros % 1_000_000).padStart(6, '0')}`;
  }

  private byName(name: string): Channel | undefined {
    for (const channel of this.channels.values()) if (channel.name === name) return channel;
    return undefined;
  }

  private find(ref: string): Channel | undefined {
    return this.channels.get(ref) ?? this.byName(ref.replace(/^#/, ''));
  }

  private mustFind(ref: string): Channel {
    const channel = this.find(ref);
    if (!channel) throw new Error(`slack-server: no channel ${ref}`);
    return channel;
  }
}

/** What Slack refuses in a message's content, before anything is stored. */
function checkContent(args: Record<string, unknown>): string | undefined {
  if (args.blocks !== undefined && !Array.isArray(args.blocks)) return 'invalid_blocks';
  const blocks = (args.blocks as unknown[] | undefined) ?? [];
  if (blocks.length > MAX_BLOCKS) return 'invalid_blocks';
  if (blocks.some((b) => b === null || typeof b !== 'object' || typeof (b as { type?: unknown }).type !== 'string')) return 'invalid_blocks';
  const text = typeof args.text === 'string' ? args.text : '';
  if (text.length > MAX_TEXT) return 'msg_too_long';
  if (text === '' && blocks.length === 0) return 'no_text';
  return undefined;
}

function wire(message: SlackMessage): Record<string, unknown> {
  return {
    type: 'message',
    text: message.text,
    ts: message.ts,
    ...(message.blocks ? { blocks: message.blocks } : {}),
    ...(message.threadTs ? { thread_ts: message.threadTs } : {}),
  };
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value);
}

function fail(error: string): SlackApiAnswer {
  return { ok: false, error };
}
