import { createRequire } from 'node:module';
import type * as AdaptiveCards from 'adaptivecards';

/**
 * Checks an Adaptive Card the way Teams will take it, for tests of the card renderers: Microsoft's
 * own `adaptivecards` library parses and validates it (unknown elements and actions, invalid
 * values, missing required properties, duplicate ids, features newer than the declared version),
 * then Teams' rules are applied on top (version 1.5 at most, only the actions a webhook card may
 * carry, a size limit).
 *
 * The library is browser-oriented but parsing and validating need no DOM (only rendering does).
 * Its `lib/` build is ESM with extension-less imports, which Node cannot load, so the UMD bundle
 * (`dist/adaptivecards.js`, CommonJS under Node) is required instead, lazily, since it is a
 * devDependency and only tests call this.
 */

/** The highest Adaptive Card version Teams renders. */
export const TEAMS_MAX_CARD_VERSION = '1.5';

/** The actions a card posted through a webhook may carry in Teams (no `Action.Submit`, no `Action.Execute`). */
export const TEAMS_WEBHOOK_ACTIONS: readonly string[] = ['Action.OpenUrl', 'Action.ShowCard', 'Action.ToggleVisibility'];

export interface AdaptiveCardCheckOptions {
  /** Largest serialized size allowed, in bytes (default 28 KB, what Workflows posts; bots take about 100 KB). */
  maxBytes?: number;
  /** Action types allowed anywhere in the card (default `TEAMS_WEBHOOK_ACTIONS`). */
  actions?: readonly string[];
}

const requireCjs = createRequire(import.meta.url);
let library: typeof AdaptiveCards | undefined;

function adaptiveCards(): typeof AdaptiveCards {
  library ??= requireCjs('adaptivecards/dist/adaptivecards.js') as typeof AdaptiveCards;
  return library;
}

/** Every problem found, in words; an empty list means Teams should take the card as it is. */
export function checkAdaptiveCard(card: object, options: AdaptiveCardCheckOptions = {}): string[] {
  const maxBytes = options.maxBytes ?? 28 * 1024;
  const allowed = options.actions ?? TEAMS_WEBHOOK_ACTIONS;
  const json = card as Record<string, unknown>;
  const problems: string[] = [];

  if (json.type !== 'AdaptiveCard') problems.push(`"type" must be "AdaptiveCard" (found ${JSON.stringify(json.type ?? null)})`);
  if (typeof json.version !== 'string') problems.push(`"version" is required: Teams renders ${TEAMS_MAX_CARD_VERSION} or lower`);
  else if (!/^\d+\.\d+$/.test(json.version)) problems.push(`version "${json.version}" is not a major.minor version`);
  else if (!versionAtMost(json.version, TEAMS_MAX_CARD_VERSION)) problems.push(`version ${json.version} is above ${TEAMS_MAX_CARD_VERSION}, the highest Teams renders`);
  for (const key of ['body', 'actions']) {
    if (json[key] !== undefined && !Array.isArray(json[key])) problems.push(`"${key}" must be an array`);
  }

  problems.push(...libraryProblems(json));

  for (const { type, path } of actionsIn(json, '')) {
    if (!allowed.includes(type)) problems.push(`${type} at ${path} is not supported in Teams webhook cards: use ${allowed.join(', ')}`);
  }

  const bytes = Buffer.byteLength(JSON.stringify(card));
  if (bytes > maxBytes) problems.push(`the card is ${kb(bytes)}, above the ${kb(maxBytes)} limit`);
  return problems;
}

/**
 * What the library reports while parsing (at the card's own version, so features newer than it
 * are reported too) and when validating.
 */
function libraryProblems(json: Record<string, unknown>): string[] {
  const AC = adaptiveCards();
  const declared = typeof json.version === 'string' && versionAtMost(json.version, TEAMS_MAX_CARD_VERSION) ? json.version : TEAMS_MAX_CARD_VERSION;
  const [major = 1, minor = 5] = declared.split('.').map(Number);
  const context = new AC.SerializationContext(new AC.Version(major, minor));
  const parsed = new AC.AdaptiveCard();
  try {
    parsed.parse(json, context);
  } catch (err) {
    return [`the library could not parse the card: ${(err as Error).message}`];
  }
  const events = Array.from({ length: context.eventCount }, (_, i) => context.getEventAt(i));
  events.push(...parsed.validateProperties().validationEvents);
  return events.map((e) => `${AC.ValidationEvent[e.event] ?? 'Problem'}: ${e.message}`);
}

/** Every object whose `type` is an action (`Action.*`), wherever it sits: card actions, ActionSets, selectActions, ShowCard cards. */
function actionsIn(value: unknown, path: string): Array<{ type: string; path: string }> {
  if (Array.isArray(value)) return value.flatMap((item, i) => actionsIn(item, `${path}[${i}]`));
  if (value === null || typeof value !== 'object') return [];
  const record = value as Record<string, unknown>;
  const own = typeof record.type === 'string' && record.type.startsWith('Action.') ? [{ type: record.type, path: path || '(root)' }] : [];
  return [...own, ...Object.entries(record).flatMap(([key, child]) => actionsIn(child, path ? `${path}.${key}` : key))];
}

/** `major.minor` comparison; a version that is not two numbers is never "at most". */
function versionAtMost(version: string, limit: string): boolean {
  const parse = (v: string) => (/^\d+\.\d+$/.test(v) ? v.split('.').map(Number) : undefined);
  const [a, b] = [parse(version), parse(limit)];
  if (!a || !b) return false;
  return a[0]! < b[0]! || (a[0] === b[0] && a[1]! <= b[1]!);
}

function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KB`;
}
