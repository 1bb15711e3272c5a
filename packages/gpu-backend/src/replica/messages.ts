/**
 * What a replica's primary and its HTTP processes say to each other over the node:cluster channel. Every
 * message is checked on arrival; anything else on the channel (Node's own cluster messages) is ignored.
 */
import { z } from 'zod';

/** From an HTTP process to the primary. */
export const ChildMessageSchema = z.discriminatedUnion('type', [
  /** The process's sessions are warm and it answers `/readyz` 200. */
  z.object({ type: z.literal('coyo:ready') }),
  /** A scrape reached this process: collect every process's metrics and send them back merged. */
  z.object({ type: z.literal('coyo:scrape'), id: z.number().int() }),
  /** This process's own metrics, for the collection `id`. */
  z.object({ type: z.literal('coyo:metrics'), id: z.number().int(), text: z.string() }),
]);
export type ChildMessage = z.infer<typeof ChildMessageSchema>;

/** From the primary to an HTTP process. */
export const PrimaryMessageSchema = z.discriminatedUnion('type', [
  /** Send your metrics for collection `id`. */
  z.object({ type: z.literal('coyo:collect'), id: z.number().int() }),
  /** The merged metrics of every process, answering scrape `id`. */
  z.object({ type: z.literal('coyo:scraped'), id: z.number().int(), text: z.string() }),
]);
export type PrimaryMessage = z.infer<typeof PrimaryMessageSchema>;

/** Environment the primary gives each HTTP process. */
export const CHILD_ENV = {
  /** The process's slot, 0…N-1; a restarted process takes the slot of the one it replaces. */
  slot: 'COYO_PROCESS_SLOT',
  /** `1` for a process replacing one that exited: it listens only once its sessions are warm. */
  replacement: 'COYO_PROCESS_REPLACEMENT',
} as const;
