import * as consoleNotifier from './console.js';

/** Every notifier by its `type`. */
export const notifiers = { console: consoleNotifier } as const;
export type NotifierType = keyof typeof notifiers;
